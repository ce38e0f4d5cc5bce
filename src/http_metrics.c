/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http_metrics: see http_metrics.h. The scan in the thread pool reads
 * only its own fields of struct http_metrics (scan_*), which the loop
 * leaves alone while it runs.
 */
#include "config.h"

#include "http_metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "send/relay_store.h"
#include "util.h"

#define HTTP_METRICS_PROM "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_METRICS_TEXT "text/plain; charset=utf-8"

/* A request waiting for the scan under way. */
struct http_metrics_waiter {
	struct http_metrics_waiter *next;
	struct http_request *req;
};

struct http_metrics {
	uv_loop_t *loop;
	http_metrics_live_fn live;
	void *live_arg;
	char *database;
	char *token; /* NULL: no token asked */
	/* The last good scan. */
	struct buf cache;
	bool cached;
	uint64_t cached_ms;
	/* The scan under way, and who waits for it. */
	bool scanning;
	uv_work_t work;
	struct http_metrics_waiter *waiters;
	char *scan_database;
	time_t scan_now;
	uint64_t scan_started_ms;
	struct buf scan_text;
	int scan_result;
	unsigned long scans; /* done since the start, for the log */
};

/* ------------------------------------------------------------ scan */

/* A label value with \, " and newline escaped (the text format). */
static void
http_metrics_label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static const char *
http_metrics_col(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v != NULL ? (const char *)v : "";
}

/* Writes one gauge family from a query of (label values..., count). */
static int
http_metrics_family(sqlite3 *db, struct buf *b, const char *name,
    const char *help, const char *type, const char *const *labels, int n_labels,
    const char *sql)
{
	sqlite3_stmt *st;
	int ret, rc, i;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(b, name);
		buf_putc(b, '{');
		for (i = 0; i < n_labels; i++) {
			buf_printf(b, "%s%s=\"", i > 0 ? "," : "", labels[i]);
			http_metrics_label(b, http_metrics_col(st, i));
			buf_putc(b, '"');
		}
		buf_printf(b, "} %lld\n",
		    (long long)sqlite3_column_int64(st, n_labels));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static const int64_t http_metrics_buckets[] = { 1, 5, 15, 60, 300, 900, 3600,
	21600, 86400 };

/* Queue-to-sent latency of sent messages: a histogram from the outbox
 * (created_at to sent_at), which survives restarts. */
static int
http_metrics_latency(sqlite3 *db, struct buf *b)
{
	static const char sql[] =
	    "SELECT sum(l <= 1), sum(l <= 5), sum(l <= 15), sum(l <= 60),"
	    " sum(l <= 300), sum(l <= 900), sum(l <= 3600), sum(l <= 21600),"
	    " sum(l <= 86400), count(*), total(l)"
	    " FROM (SELECT max(0, strftime('%s', sent_at)"
	    "  - strftime('%s', created_at)) AS l"
	    "  FROM messages WHERE state = 'sent' AND sent_at IS NOT NULL)";
	const char *name = "familymail_delivery_latency_seconds";
	sqlite3_stmt *st;
	size_t i, n = UTIL_ARRAY_LEN(http_metrics_buckets);
	int ret, rc;

	ret = db_prepare(db, sql, &st);
	if (ret != 0)
		return ret;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_errno(rc);
	}
	buf_printf(b,
	    "# HELP %s Time from queued to sent, of sent messages.\n"
	    "# TYPE %s histogram\n",
	    name, name);
	for (i = 0; i < n; i++)
		buf_printf(b, "%s_bucket{le=\"%lld\"} %lld\n", name,
		    (long long)http_metrics_buckets[i],
		    (long long)sqlite3_column_int64(st, (int)i));
	buf_printf(b,
	    "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.0f\n%s_count %lld\n", name,
	    (long long)sqlite3_column_int64(st, (int)n), name,
	    sqlite3_column_double(st, (int)n + 1), name,
	    (long long)sqlite3_column_int64(st, (int)n));
	sqlite3_finalize(st);
	return 0;
}

static int
http_metrics_oldest(sqlite3 *db, struct buf *b, time_t now)
{
	const char *name = "familymail_queue_oldest_age_seconds";
	sqlite3_stmt *st;
	time_t t;
	int ret, rc;
	long long age = 0;

	ret = db_prepare(db,
	    "SELECT min(created_at) FROM messages WHERE state = 'queued'", &st);
	if (ret != 0)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    clock_parse_iso(http_metrics_col(st, 0), &t) == 0 && t < now)
		age = (long long)(now - t);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	buf_printf(b,
	    "# HELP %s Age of the oldest queued message (0: none).\n"
	    "# TYPE %s gauge\n%s %lld\n",
	    name, name, name, age);
	return 0;
}

static void
http_metrics_on_scan(uv_work_t *w)
{
	struct http_metrics *m = w->data;
	static const char *const kind_state[] = { "kind", "state" };
	static const char *const bounce[] = { "class", "kind" };
	static const char *const subs[] = { "status", "frequency" };
	sqlite3 *db = NULL;
	int ret;

	ret = db_open(m->scan_database, false, &db);
	if (ret == 0)
		ret = http_metrics_family(db, &m->scan_text,
		    "familymail_messages",
		    "Messages in the outbox by kind and state.", "gauge",
		    kind_state, 2,
		    "SELECT kind, state, count(*) FROM messages"
		    " GROUP BY kind, state ORDER BY kind, state");
	if (ret == 0)
		ret = http_metrics_oldest(db, &m->scan_text, m->scan_now);
	if (ret == 0)
		ret = http_metrics_latency(db, &m->scan_text);
	if (ret == 0)
		ret =
		    http_metrics_family(db, &m->scan_text, "familymail_bounces",
			"Bounces and feedback reports processed, by class "
			"(none: not a bounce) and kind.",
			"gauge", bounce, 2,
			"SELECT coalesce(class, 'none'), kind, count(*)"
			" FROM bounces GROUP BY 1, 2 ORDER BY 1, 2");
	if (ret == 0)
		ret = http_metrics_family(db, &m->scan_text,
		    "familymail_suppressions",
		    "Suppressed addresses by reason.", "gauge",
		    (const char *const[]){ "reason" }, 1,
		    "SELECT reason, count(*) FROM suppressions"
		    " GROUP BY reason ORDER BY reason");
	if (ret == 0)
		ret = http_metrics_family(db, &m->scan_text,
		    "familymail_subscribers",
		    "Subscribers by status and frequency.", "gauge", subs, 2,
		    "SELECT status, frequency, count(*) FROM subscribers"
		    " GROUP BY 1, 2 ORDER BY 1, 2");
	if (ret == 0)
		ret = http_metrics_family(db, &m->scan_text,
		    "familymail_unusable_rows",
		    "Rows of the website's tables familymail cannot use "
		    "(familymail status lists them), by table.",
		    "gauge", (const char *const[]){ "table" }, 1,
		    "WITH t(tbl) AS (VALUES ('bookings'), ('courses'),"
		    " ('posts')) SELECT tbl, (SELECT count(*) FROM"
		    " unusable_rows u WHERE u.tbl = t.tbl) FROM t ORDER BY tbl");
	if (ret == 0)
		ret = relay_store_metrics(db, m->scan_now, &m->scan_text);
	if (db != NULL)
		db_close(db);
	m->scan_result = ret;
}

/* Answers req from the cache, with the live figures. */
static void
http_metrics_answer(struct http_metrics *m, struct http_request *req)
{
	struct buf b;

	buf_init(&b);
	buf_append(&b, m->cache.data, m->cache.len);
	if (m->live != NULL)
		m->live(m->live_arg, &b);
	http_respond(req, 200, HTTP_METRICS_PROM, b.data, b.len);
	buf_fini(&b);
}

static void
http_metrics_on_scanned(uv_work_t *w, int status)
{
	struct http_metrics *m = w->data;
	struct http_metrics_waiter *wt, *next;
	uint64_t now = uv_now(m->loop);
	bool ok = status == 0 && m->scan_result == 0;

	m->scanning = false;
	m->scans++;
	if (ok) {
		buf_reset(&m->cache);
		buf_append(&m->cache, m->scan_text.data, m->scan_text.len);
		m->cached = true;
		m->cached_ms = now;
		log_debug("http metrics scanned scan=%lu ms=%llu", m->scans,
		    (unsigned long long)(now - m->scan_started_ms));
	} else {
		log_warnx("http metrics failed: %s",
		    status != 0 ? uv_strerror(status)
				: strerror(-m->scan_result));
	}
	buf_reset(&m->scan_text);
	for (wt = m->waiters; wt != NULL; wt = next) {
		next = wt->next;
		if (ok)
			http_metrics_answer(m, wt->req);
		else
			http_respond(wt->req, 503, HTTP_METRICS_TEXT,
			    "database unavailable\n", 21);
		free(wt);
	}
	m->waiters = NULL;
}

/* ------------------------------------------------------------ requests */

/* "Bearer TOKEN" against the token, in time that does not depend on
 * where they differ. */
static bool
http_metrics_authorized(const struct http_metrics *m, const char *header)
{
	size_t n;

	if (m->token == NULL)
		return true;
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	header += strspn(header, " ");
	n = strlen(m->token);
	return strlen(header) == n && CRYPTO_memcmp(header, m->token, n) == 0;
}

void
http_metrics_handle(struct http_metrics *m, struct http_request *req)
{
	struct http_metrics_waiter *wt;

	if (!http_metrics_authorized(m, req->authorization)) {
		http_respond(req, 401, HTTP_METRICS_TEXT,
		    "401 a bearer token is needed\n", 29);
		return;
	}
	if (m->cached && uv_now(m->loop) - m->cached_ms < HTTP_METRICS_TTL_MS) {
		http_metrics_answer(m, req);
		return;
	}
	if (m->database == NULL) {
		http_respond(req, 503, HTTP_METRICS_TEXT, "starting\n", 9);
		return;
	}
	wt = xcalloc(1, sizeof(*wt));
	wt->req = req;
	wt->next = m->waiters;
	m->waiters = wt;
	if (m->scanning)
		return;
	free(m->scan_database);
	m->scan_database = xstrdup(m->database);
	m->scan_now = clock_now();
	m->scan_started_ms = uv_now(m->loop);
	m->work.data = m;
	if (uv_queue_work(m->loop, &m->work, http_metrics_on_scan,
		http_metrics_on_scanned) != 0) {
		m->scan_result = -EAGAIN;
		http_metrics_on_scanned(&m->work, 0);
		return;
	}
	m->scanning = true;
}

/* ------------------------------------------------------------ lifetime */

struct http_metrics *
http_metrics_new(uv_loop_t *loop, http_metrics_live_fn live, void *live_arg)
{
	struct http_metrics *m = xcalloc(1, sizeof(*m));

	m->loop = loop;
	m->live = live;
	m->live_arg = live_arg;
	buf_init(&m->cache);
	buf_init(&m->scan_text);
	return m;
}

static void
http_metrics_forget_token(struct http_metrics *m)
{
	if (m->token != NULL) {
		explicit_bzero(m->token, strlen(m->token));
		free(m->token);
		m->token = NULL;
	}
}

void
http_metrics_set(
    struct http_metrics *m, const char *database, const char *token)
{
	free(m->database);
	m->database = database != NULL ? xstrdup(database) : NULL;
	http_metrics_forget_token(m);
	if (token != NULL)
		m->token = xstrdup(token);
}

void
http_metrics_free(struct http_metrics *m)
{
	struct http_metrics_waiter *wt, *next;

	if (m == NULL)
		return;
	for (wt = m->waiters; wt != NULL; wt = next) {
		next = wt->next;
		free(wt);
	}
	http_metrics_forget_token(m);
	free(m->database);
	free(m->scan_database);
	buf_fini(&m->cache);
	buf_fini(&m->scan_text);
	free(m);
}
