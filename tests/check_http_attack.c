/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_http_attack: familymaild's web endpoints under attack and under
 * a busy website, from the outside. Each test starts the real daemon on
 * a temporary database with [http] listen on a free loopback port, and
 * plays the attack for real:
 *
 * - the website holds the database's write lock (a real sqlite3 process
 *   in BEGIN IMMEDIATE) while a mail provider POSTs a one-click
 *   unsubscribe and a subscriber saves preferences: both are accepted,
 *   /healthz stays fast, nothing is lost, even across a kill -9;
 * - 16 scrapers loop on /metrics: one scan serves them all; the metrics
 *   sit behind a bearer token on a listener of their own;
 * - a scanner with bad tokens behind a proxy that sends no
 *   X-Forwarded-For, or with a forged one: a valid one-click POST still
 *   goes through, and a forged header changes nothing;
 * - hundreds of idle connections from one address or from many, a
 *   request head sent a byte at a time, a flood of 2,000 connections:
 *   legitimate requests get through and the log stays short;
 * - bytes in a request that would drive a terminal reach the log
 *   escaped.
 *
 * Clients bind to other loopback addresses (127.0.0.2 and up) to be
 * other peers. Everything stays on 127.0.0.0/8.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "testutil.h"
#include "token.h"
#include "util.h"

#define NOW           "2026-11-23T09:00:00Z"
#define SECRET        "Vq2m8N5rPz0kLw4cYt7hJe1fXa9sGb3dQu6iOn2vMy8="
#define METRICS_TOKEN "m3tr1cs-T0ken-for-the-scraper-6d1e9c"

static char *dir, *db_path, *log_path, *conf_path;
static int port, metrics_port, daemon_pid;

static const char fixtures[] =
    "INSERT INTO subscribers (id, email, name, status, frequency,"
    " created_at) VALUES"
    " (1, 'sam@example.org', 'Sam', 'active', 'weekly',"
    "  '2026-09-01T00:00:00Z'),"
    " (2, 'pat@example.org', 'Pat', 'pending', 'weekly',"
    "  '2026-11-20T00:00:00Z'),"
    " (3, 'lee@example.org', 'Lee', 'active', 'weekly',"
    "  '2026-09-01T00:00:00Z');"
    "INSERT INTO posts (id, title, url, author, summary, published_at)"
    " VALUES (1, 'Bedtime without battles',"
    " 'https://blog.example.org/bedtime', 'Ruth', 'Five calm steps.',"
    " '2026-11-20T12:00:00Z');";

#define SUBSCRIBERS                                                         \
	"SELECT group_concat(id || ':' || status || ':' || frequency, ' ')" \
	" FROM (SELECT * FROM subscribers ORDER BY id)"

/* ------------------------------------------------------------ helpers */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
assert_has(const char *s, const char *want)
{
	/* Check cannot carry a long message: the text goes to stderr. */
	if (strstr(s, want) == NULL && strlen(s) > 2000)
		fprintf(stderr, "%s\n", s);
	ck_assert_msg(
	    strstr(s, want) != NULL, "'%s' not in:\n%.2000s", want, s);
}

static char *
read_log(void)
{
	char *s = tu_read_file(log_path, NULL);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* The log once it holds want (the loop logs a change after the worker
 * that applied it has finished), or as it is after ms. */
static char *
read_log_with(const char *want, int ms)
{
	char *s = read_log();

	for (int waited = 0;
	     strstr(s, want) == NULL && waited < tu_timeout_ms(ms);
	     waited += 50) {
		free(s);
		tu_sleep_ms(50);
		s = read_log();
	}
	return s;
}

static int
count_in(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = strstr(s, what); p != NULL;
	     p = strstr(p + 1, what))
		n++;
	return n;
}

struct resp {
	long code;
	char error[128]; /* why there was no answer */
	double ms;
	struct buf body;
	struct buf head;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static size_t
on_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
resp_fini(struct resp *r)
{
	buf_fini(&r->body);
	buf_fini(&r->head);
}

/*
 * One request: to the port, from source address from (NULL: 127.0.0.1),
 * with method (NULL: GET, or POST with a body), and header lines (a
 * NULL-ended list, or NULL). A connection the daemon refuses gives code
 * 0.
 */
static struct resp
request_to(int to_port, const char *from, const char *method,
    const char *target, const char *body, const char *const *headers)
{
	struct curl_slist *hdrs = NULL;
	struct resp r = { 0 };
	char *url = xasprintf("http://127.0.0.1:%d%s", to_port, target);
	char *iface = NULL;
	CURL *c = curl_easy_init();
	double t0 = now_ms();
	CURLcode rc;

	buf_init(&r.body);
	buf_init(&r.head);
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (from != NULL) {
		iface = xasprintf("host!%s", from);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (method != NULL && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	for (; headers != NULL && *headers != NULL; headers++)
		hdrs = curl_slist_append(hdrs, *headers);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
	else
		(void)snprintf(
		    r.error, sizeof(r.error), "%s", curl_easy_strerror(rc));
	r.ms = now_ms() - t0;
	buf_putc(&r.body, '\0');
	r.body.len--;
	buf_putc(&r.head, '\0');
	r.head.len--;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(iface);
	free(url);
	return r;
}

static struct resp
request(
    const char *from, const char *target, const char *body, const char *header)
{
	const char *h[] = { header, NULL };

	return request_to(port, from, NULL, target, body, h);
}

static char *
page(const char *path, const char *purpose, int64_t id, const char *email)
{
	struct buf t;
	char *s;

	buf_init(&t);
	ck_assert_int_eq(
	    token_make(SECRET, strlen(SECRET), purpose, id, email, &t), 0);
	s = xasprintf("/%s?token=%s", path, t.data);
	buf_fini(&t);
	return s;
}

static void
assert_db(const char *sql, const char *want)
{
	char *got = tu_db_text(db_path, sql);

	ck_assert_msg(
	    strcmp(got, want) == 0, "%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

/* Waits up to ms for a query to give want; false if it never did. */
static bool
wait_db(const char *sql, const char *want, int ms)
{
	for (int waited = 0; waited < tu_timeout_ms(ms); waited += 100) {
		char *got = tu_db_text(db_path, sql);
		bool ok = strcmp(got, want) == 0;

		free(got);
		if (ok)
			return true;
		tu_sleep_ms(100);
	}
	return false;
}

/* ------------------------------------------------------------ daemon */

/* Starts familymaild with extra lines in its [http] section. */
static void
start_daemon(const char *http_extra)
{
	char *sections, *daemon;
	struct tu_config c = {
		.timezone = "", .reply_to = "", .bounce_domain = ""
	};

	sections =
	    xasprintf("[unsubscribe]\n"
		      "url = http://127.0.0.1:%d/unsubscribe?token={token}\n"
		      "secret_file = token-secret\n"
		      "\n[http]\nlisten = 127.0.0.1:%d\n%s",
		port, port, http_extra);
	c.sections = sections;
	free(conf_path);
	conf_path = tu_write_config(dir, "familymail.conf", &c);
	free(sections);
	daemon = xasprintf("%s/src/familymaild", tu_builddir());
	{
		char *argv[] = { daemon, (char *)"-f", (char *)"-c", conf_path,
			(char *)"--now", (char *)NOW, NULL };

		daemon_pid = tu_spawn(argv, log_path);
	}
	free(daemon);
	for (int waited = 0; waited < tu_timeout_ms(10000); waited += 50) {
		struct resp r = request(NULL, "/healthz", NULL, NULL);
		long code = r.code;

		resp_fini(&r);
		if (code == 200)
			return;
		tu_sleep_ms(50);
	}
	ck_abort_msg("familymaild did not answer on port %d", port);
}

static void
stop_daemon(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	ck_assert_int_eq(tu_wait(daemon_pid, 10000), 0);
	daemon_pid = 0;
}

/* The mail of the start (two digests, the confirmation request) has
 * gone: the daemon is idle. */
static void
wait_idle(void)
{
	ck_assert(wait_db(
	    "SELECT count(*) FROM messages WHERE state = 'sent'", "3", 10000));
}

static void
setup(void)
{
	char *secret;
	struct rlimit rl;
	sqlite3 *db;

	/* The flood tests hold a few thousand sockets. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	dir = tu_mkdtemp();
	port = tu_free_port();
	metrics_port = tu_free_port();
	secret = tu_write_file(dir, "token-secret", SECRET);
	ck_assert_int_eq(chmod(secret, 0600), 0);
	free(secret);
	db = tu_db_new(dir);
	tu_sql(db, fixtures);
	db_close(db);
	db_path = xasprintf("%s/familymail.db", dir);
	log_path = xasprintf("%s/daemon.log", dir);
	conf_path = NULL;
	daemon_pid = 0;
}

static void
teardown(void)
{
	stop_daemon();
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(db_path);
	free(log_path);
	free(conf_path);
}

/* ------------------------------------------------------------ website */

/* A real sqlite3 process holding the write lock, as the website's long
 * transaction does. */
struct website {
	int pid;
	int in; /* its stdin */
};

static void
website_lock(struct website *w)
{
	/* The process says so itself once it holds the lock: a probe
	 * refused by the daemon's own brief write would be mistaken for
	 * it. */
	static const char sql[] = ".timeout 10000\nBEGIN IMMEDIATE;\n"
				  "SELECT 'locked';\n";
	int in[2], out[2];
	char line[64];
	size_t n = 0;
	ssize_t got;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	w->pid = fork();
	ck_assert_int_ne(w->pid, -1);
	if (w->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("sqlite3", "sqlite3", "-batch", db_path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	w->in = in[1];
	ck_assert_int_eq(
	    write(w->in, sql, sizeof(sql) - 1), (ssize_t)(sizeof(sql) - 1));
	while (n < sizeof(line) - 1 &&
	    (got = read(out[0], line + n, sizeof(line) - 1 - n)) > 0) {
		n += (size_t)got;
		line[n] = '\0';
		if (strchr(line, '\n') != NULL)
			break;
	}
	line[n] = '\0';
	close(out[0]);
	ck_assert_msg(strcmp(line, "locked\n") == 0,
	    "sqlite3 did not take the write lock: '%s'", line);
}

static void
website_unlock(struct website *w)
{
	static const char sql[] = "COMMIT;\n.quit\n";

	ck_assert_int_eq(
	    write(w->in, sql, sizeof(sql) - 1), (ssize_t)(sizeof(sql) - 1));
	close(w->in);
	ck_assert_int_eq(tu_wait(w->pid, 10000), 0);
}

/* ------------------------------------------------------------ sockets */

/* A TCP connection from address from to the daemon, left idle;
 * non-blocking, so that a flood does not wait on each. -1 if the
 * system refused. */
static int
connect_from(const char *from)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd == -1)
		return -1;
	ck_assert_int_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
		errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 51 requests from 127.0.0.1, as a person and a provider would make
 * them; returns how many were answered 200 within the time. */
static int
legitimate_requests(double *worst_ms)
{
	char *target = page("unsubscribe", "unsubscribe", 3, "lee@example.org");
	int ok = 0;

	*worst_ms = 0;
	for (int i = 0; i < 51; i++) {
		struct resp r =
		    request(NULL, i % 2 == 0 ? "/healthz" : target, NULL, NULL);

		ok += r.code == 200;
		if (r.code != 200)
			fprintf(stderr, "legitimate request %d: %ld %s\n", i,
			    r.code, r.error);
		if (r.ms > *worst_ms)
			*worst_ms = r.ms;
		resp_fini(&r);
	}
	free(target);
	return ok;
}

/* ------------------------------------------------------------ tests */

/* The website holds BEGIN IMMEDIATE for 30 s. A provider's one-click
 * POST, a preference change and a confirmation are accepted at once,
 * /healthz stays fast all the while, and everything is applied once the
 * lock is free; the log says why they waited. */
START_TEST(test_attack_website_lock_neither_stalls_the_loop_nor_loses_a_change)
{
	char *unsub = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	char *prefs = page("preferences", "preferences", 3, "lee@example.org");
	char *confirm = page("confirm", "confirm", 2, "pat@example.org");
	char *journal = xasprintf("%s-changes", db_path), *log;
	double start, worst = 0, lat[400];
	struct website w;
	struct resp r;
	int n = 0;

	start_daemon("");
	wait_idle();
	website_lock(&w);
	start = now_ms();
	r = request(NULL, unsub, "List-Unsubscribe=One-Click", NULL);
	ck_assert_msg(r.code == 202, "one-click POST: %ld after %.0f ms\n%s",
	    r.code, r.ms, r.body.data);
	ck_assert_double_lt(r.ms, 2000);
	assert_has(r.body.data, "You are unsubscribed");
	assert_has(r.body.data, "takes effect within a few minutes");
	resp_fini(&r);
	r = request(NULL, prefs, "frequency=monthly", NULL);
	ck_assert_int_eq(r.code, 202);
	assert_has(r.body.data, "you will get the monthly digest");
	resp_fini(&r);
	r = request(NULL, confirm, "", NULL);
	ck_assert_int_eq(r.code, 202);
	assert_has(r.body.data, "Your confirmation is saved");
	resp_fini(&r);
	/* The unsubscribe page knows it is done. */
	r = request(NULL, unsub, NULL, NULL);
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "already unsubscribed");
	resp_fini(&r);
	/* Kept where a restart finds them, not yet in the database. */
	ck_assert_int_eq(access(journal, F_OK), 0);
	assert_db(
	    SUBSCRIBERS, "1:active:weekly 2:pending:weekly 3:active:weekly");
	/* The loop answers while the website holds the lock. */
	while (now_ms() - start < 30000 && n < (int)UTIL_ARRAY_LEN(lat)) {
		r = request(NULL, "/healthz", NULL, NULL);
		ck_assert_int_eq(r.code, 200);
		lat[n++] = r.ms;
		if (r.ms > worst)
			worst = r.ms;
		resp_fini(&r);
		tu_sleep_ms(100);
	}
	website_unlock(&w);
	ck_assert_int_ge(n, 100);
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && lat[k - 1] > lat[k]; k--) {
			double t = lat[k];

			lat[k] = lat[k - 1];
			lat[k - 1] = t;
		}
	fprintf(stderr,
	    "healthz under the lock: n=%d p50=%.1fms p99=%.1fms max=%.1fms\n",
	    n, lat[n / 2], lat[n * 99 / 100], worst);
	ck_assert_msg(
	    lat[n * 99 / 100] < 250, "p99 %.1f ms", lat[n * 99 / 100]);
	ck_assert_msg(worst < 1000, "worst %.1f ms", worst);
	/* Applied once the lock is free, and the journal is gone. */
	ck_assert_msg(wait_db(SUBSCRIBERS,
			  "1:unsubscribed:weekly 2:active:weekly "
			  "3:active:monthly",
			  10000),
	    "the queued changes were not applied");
	for (int waited = 0; access(journal, F_OK) == 0 && waited < 5000;
	     waited += 100)
		tu_sleep_ms(100);
	ck_assert_int_eq(access(journal, F_OK), -1);
	log = read_log_with("subscriber confirmed id=2 source=page", 5000);
	assert_has(log,
	    "subscriber queue cannot write changes=1: database is "
	    "locked");
	assert_has(log, "subscriber unsubscribe queued id=1 source=one-click");
	assert_has(log, "subscriber unsubscribed id=1 source=one-click");
	assert_has(log, "subscriber frequency id=3 frequency=monthly");
	assert_has(log, "subscriber confirmed id=2 source=page");
	free(log);
	free(journal);
	free(unsub);
	free(prefs);
	free(confirm);
}
END_TEST

/* An unsubscribe accepted under the lock is on disk before the answer:
 * killing the daemon at once loses nothing. */
/* The website imports 50,000 bookings at once: the confirmations are
 * enqueued off the loop, in short writes, and the pages keep
 * answering meanwhile (enqueued on the loop, it stalled for seconds). */
START_TEST(test_attack_a_big_import_does_not_stall_the_loop)
{
	double worst = 0, start;
	char *n_queued;
	sqlite3 *db;
	int polls = 0;

	start_daemon("");
	wait_idle();
	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	/* Suppressed, so that sending them costs a look each, not a
	 * file. */
	tu_sql(db,
	    "INSERT INTO courses (id, title, starts_at, venue) VALUES"
	    " (50, 'Imported', '2027-01-20T09:30:00Z', 'Cardiff');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 50000)"
	    " INSERT INTO delegates (id, email, first_name)"
	    " SELECT 1000 + i, 'imp' || i || '@example.org', 'I' FROM n;"
	    "INSERT INTO suppressions (email, reason, created_at)"
	    " SELECT email, 'manual', '2026-11-01T00:00:00Z' FROM delegates"
	    " WHERE id > 1000;"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " created_at) SELECT id, 50, id, 'IMP-' || id,"
	    " '2026-11-22T09:00:00Z' FROM delegates WHERE id > 1000;");
	db_close(db);
	start = now_ms();
	for (;;) {
		struct resp r = request(NULL, "/healthz", NULL, NULL);

		ck_assert_int_eq(r.code, 200);
		if (r.ms > worst)
			worst = r.ms;
		resp_fini(&r);
		polls++;
		n_queued = tu_db_text(db_path,
		    "SELECT count(*) FROM messages WHERE booking_id > 1000");
		if (strcmp(n_queued, "50000") == 0 ||
		    now_ms() - start > tu_timeout_ms(60000)) {
			free(n_queued);
			break;
		}
		free(n_queued);
		tu_sleep_ms(20);
	}
	fprintf(stderr,
	    "healthz during a 50,000-booking import: %d polls, "
	    "worst %.1f ms\n",
	    polls, worst);
	assert_db(
	    "SELECT count(*) FROM messages WHERE booking_id > 1000", "50000");
	ck_assert_msg(worst < 500, "the loop stalled %.1f ms", worst);
	stop_daemon();
}
END_TEST

START_TEST(test_attack_a_queued_unsubscribe_survives_kill_9)
{
	static const char bad[] = "v1 unsubscribe x - http\n"
				  "v1 frequency 3 monthly pref";
	char *journal;
	int fd;
	char *unsub = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	struct website w;
	struct resp r;
	char *log;

	start_daemon("");
	wait_idle();
	website_lock(&w);
	r = request(NULL, unsub, "List-Unsubscribe=One-Click", NULL);
	ck_assert_int_eq(r.code, 202);
	resp_fini(&r);
	kill(daemon_pid, SIGKILL);
	ck_assert_int_eq(tu_wait(daemon_pid, 5000), 128 + SIGKILL);
	daemon_pid = 0;
	website_unlock(&w);
	assert_db("SELECT status FROM subscribers WHERE id = 1", "active");
	/* A line nobody wrote, and one a crash cut short, are skipped. */
	journal = xasprintf("%s-changes", db_path);
	fd = open(journal, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
	close(fd);
	start_daemon("");
	ck_assert_msg(wait_db("SELECT status FROM subscribers WHERE id = 1",
			  "unsubscribed", 10000),
	    "the journaled unsubscribe was not applied at the next start");
	log = read_log();
	assert_has(log, "subscriber queue found changes=1");
	assert_has(log, "-changes:2: cannot read 'v1 unsubscribe x - http'");
	assert_has(log, "-changes:3: unfinished line skipped");
	free(log);
	assert_db("SELECT status || ':' || frequency FROM subscribers"
		  " WHERE id = 3",
	    "active:weekly");
	ck_assert_int_eq(access(journal, F_OK), -1);
	free(journal);
	free(unsub);
}
END_TEST

/* 16 scrapers loop on /metrics for 3 s: one scan serves them all. The
 * metrics are on their own listener, behind a bearer token. */
START_TEST(test_attack_metrics_scrapers_cost_one_scan)
{
	char *extra, *token, *log, *auth;
	const char *good[2], *wrong[] = { "Authorization: Bearer nope", NULL };
	CURLM *multi = curl_multi_init();
	CURL *easy[16];
	struct curl_slist *hdrs = NULL;
	char *url = xasprintf("http://127.0.0.1:%d/metrics", metrics_port);
	struct resp r;
	double start;
	int running, answers = 0, bad = 0;
	long code;

	token = tu_write_file(dir, "metrics-token", METRICS_TOKEN "\n");
	ck_assert_int_eq(chmod(token, 0600), 0);
	free(token);
	extra = xasprintf("metrics_listen = 127.0.0.1:%d\n"
			  "metrics_token_file = metrics-token\n",
	    metrics_port);
	start_daemon(extra);
	free(extra);
	wait_idle();
	auth = xasprintf("Authorization: Bearer %s", METRICS_TOKEN);
	good[0] = auth;
	good[1] = NULL;
	/* Not on the pages' listener; not without the token. */
	r = request(NULL, "/metrics", NULL, NULL);
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
	r = request_to(metrics_port, NULL, NULL, "/metrics", NULL, NULL);
	ck_assert_int_eq(r.code, 401);
	assert_has(r.head.data, "WWW-Authenticate: Bearer");
	resp_fini(&r);
	r = request_to(metrics_port, NULL, NULL, "/metrics", NULL, wrong);
	ck_assert_int_eq(r.code, 401);
	resp_fini(&r);
	r = request_to(
	    metrics_port, NULL, NULL, "/unsubscribe?token=x", NULL, good);
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
	r = request_to(metrics_port, NULL, NULL, "/healthz", NULL, NULL);
	ck_assert_int_eq(r.code, 200);
	resp_fini(&r);
	/* The scrapers. */
	hdrs = curl_slist_append(hdrs, auth);
	for (int i = 0; i < 16; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_discard);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT, 10L);
		curl_multi_add_handle(multi, easy[i]);
	}
	start = now_ms();
	while (now_ms() - start < 3000) {
		CURLMsg *m;
		int left;

		curl_multi_perform(multi, &running);
		curl_multi_poll(multi, NULL, 0, 100, NULL);
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			code = 0;
			curl_easy_getinfo(
			    m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			answers++;
			bad += code != 200;
			/* Again, at once. */
			curl_multi_remove_handle(multi, m->easy_handle);
			curl_multi_add_handle(multi, m->easy_handle);
		}
	}
	for (int i = 0; i < 16; i++) {
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	ck_assert_int_ge(answers, 100);
	ck_assert_int_eq(bad, 0);
	r = request_to(metrics_port, NULL, NULL, "/metrics", NULL, good);
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data,
	    "familymail_messages{kind=\"blog_digest\",state=\"sent\"} 2\n");
	assert_has(r.body.data, "familymail_subscriber_changes_waiting 0\n");
	resp_fini(&r);
	log = read_log();
	ck_assert_msg(count_in(log, "http metrics scanned") == 1,
	    "%d scans for %d answers", count_in(log, "http metrics scanned"),
	    answers);
	free(log);
	free(auth);
	free(url);
}
END_TEST

/* Behind a proxy that sends no X-Forwarded-For, every visitor is the
 * proxy: a scanner's 100 bad tokens must not cost a parent's one-click
 * unsubscribe, nor anybody's working link. */
START_TEST(test_attack_scanner_behind_a_proxy_never_blocks_a_one_click)
{
	char *unsub = page("unsubscribe", "unsubscribe", 1, "sam@example.org");
	char *prefs = page("preferences", "preferences", 3, "lee@example.org");
	int limited = 0;
	struct resp r;

	start_daemon("");
	wait_idle();
	for (int i = 0; i < 100; i++) {
		char *t = xasprintf("/unsubscribe?token=AAAAAAAAAAE%021d", i);

		r = request(NULL, t, "List-Unsubscribe=One-Click", NULL);
		ck_assert(r.code == 404 || r.code == 400 || r.code == 429);
		limited += r.code == 429;
		resp_fini(&r);
		free(t);
	}
	ck_assert_int_ge(limited, 40);
	/* Pages that work keep working... */
	for (int i = 0; i < 60; i++) {
		r = request(NULL, prefs, NULL, NULL);
		ck_assert_int_eq(r.code, 200);
		resp_fini(&r);
	}
	/* ...and the provider's one-click POST goes through. */
	r = request(NULL, unsub, "List-Unsubscribe=One-Click", NULL);
	ck_assert_int_eq(r.code, 200);
	assert_has(r.body.data, "has been unsubscribed");
	resp_fini(&r);
	assert_db(
	    "SELECT status FROM subscribers WHERE id = 1", "unsubscribed");
	free(unsub);
	free(prefs);
}
END_TEST

/* X-Forwarded-For is believed from the configured proxy only: a scanner
 * at another address that forges it is still counted as itself. */
START_TEST(test_attack_forged_forwarded_for_is_ignored)
{
	char pad[400];
	int limited = 0;
	struct resp r;

	start_daemon("trusted_proxies = 127.0.0.1\n");
	for (int i = 0; i < 60; i++) {
		char *h = xasprintf("X-Forwarded-For: 198.51.100.%d", i);

		r = request("127.0.0.2", "/nowhere", NULL, h);
		ck_assert(r.code == 404 || r.code == 429);
		limited += r.code == 429;
		resp_fini(&r);
		free(h);
	}
	ck_assert_int_ge(limited, 15);
	/* Through the proxy, a visitor it names is someone else. */
	r = request(NULL, "/nowhere", NULL, "X-Forwarded-For: 203.0.113.9");
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
	/* A chain: the entries the client wrote itself, left of the
	 * proxy's, are not believed either. */
	for (int i = 0; i < 45; i++) {
		char *h =
		    xasprintf("X-Forwarded-For: 10.0.0.%d, 203.0.113.7", i);

		r = request(NULL, "/nowhere", NULL, h);
		limited += r.code == 429;
		resp_fini(&r);
		free(h);
	}
	r = request(
	    NULL, "/nowhere", NULL, "X-Forwarded-For: 10.99.0.1, 203.0.113.7");
	ck_assert_int_eq(r.code, 429);
	resp_fini(&r);
	/* Padding the header cannot push out the entry the proxy wrote:
	 * the failures count against 203.0.113.77, not the proxy. */
	memset(pad, 'A', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < 45; i++) {
		char *h = xasprintf("X-Forwarded-For: %s, 203.0.113.77", pad);

		r = request(NULL, "/nowhere", NULL, h);
		resp_fini(&r);
		free(h);
	}
	r = request(NULL, "/nowhere", NULL, "X-Forwarded-For: 203.0.113.77");
	ck_assert_int_eq(r.code, 429);
	resp_fini(&r);
	r = request(NULL, "/nowhere", NULL, NULL);
	ck_assert_int_eq(r.code, 404);
	resp_fini(&r);
}
END_TEST

/* 300 idle connections from one address, then 300 from twenty: 51
 * legitimate requests all get through, promptly. */
START_TEST(test_attack_idle_connections_do_not_lock_others_out)
{
	int fds[600], n = 0, ok;
	bool full = false;
	double worst;
	char *log;

	start_daemon("");
	for (int i = 0; i < 300; i++) {
		int fd = connect_from("127.0.0.2");

		if (fd != -1)
			fds[n++] = fd;
	}
	ck_assert_int_ge(n, 290);
	tu_sleep_ms(300);
	ok = legitimate_requests(&worst);
	ck_assert_msg(
	    ok == 51, "%d of 51 answered (one peer's idle flood)", ok);
	ck_assert_double_lt(worst, 2000);
	for (int i = 0; i < 300; i++) {
		char from[32];
		int fd;

		(void)snprintf(from, sizeof(from), "127.0.1.%d", 1 + i / 15);
		fd = connect_from(from);
		if (fd != -1)
			fds[n++] = fd;
	}
	/* Every slot is taken once the daemon has accepted them all. */
	for (int waited = 0; !full && waited < 4000; waited += 100) {
		log = read_log();
		full = strstr(log, "connections full") != NULL;
		free(log);
		if (!full)
			tu_sleep_ms(100);
	}
	ok = legitimate_requests(&worst);
	ck_assert_msg(
	    ok == 51, "%d of 51 answered (many peers' idle flood)", ok);
	ck_assert_double_lt(worst, 2000);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	log = read_log();
	assert_has(log, "too many open from one address peer=127.0.0.2");
	assert_has(log, "connections full: closed the longest waiting");
	free(log);
}
END_TEST

/* A request head sent a byte at a time is cut at its deadline (5 s),
 * not held for the whole request's 10 s. */
START_TEST(test_attack_slow_request_head_is_cut_at_its_deadline)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
				   "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int fd;
	double start, closed_at = 0;
	char answer[256];
	ssize_t got = 0, r;

	start_daemon("");
	fd = connect_from("127.0.0.5");
	ck_assert_int_ge(fd, 0);
	tu_sleep_ms(50);
	start = now_ms();
	for (size_t i = 0; i < sizeof(head) - 1 && closed_at == 0; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		(void)send(fd, head + i, 1, MSG_NOSIGNAL);
		if (poll(&p, 1, 400) == 1) {
			r = read(
			    fd, answer + got, sizeof(answer) - 1 - (size_t)got);
			if (r > 0)
				got += r;
			closed_at = now_ms() - start;
		}
	}
	close(fd);
	answer[got] = '\0';
	ck_assert_msg(
	    closed_at > 0, "still open after %.0f ms", now_ms() - start);
	ck_assert_msg(closed_at >= 4000 && closed_at < 8000,
	    "answered after %.0f ms", closed_at);
	assert_has(answer, "HTTP/1.1 408");
}
END_TEST

/* 2,000 connections at once from forty addresses: the daemon goes on
 * answering, and warns a few times, not a thousand. */
START_TEST(test_attack_connection_flood_logs_few_warnings)
{
	int *fds = xcalloc(2000, sizeof(int)), n = 0, ok;
	double worst;
	char *log;

	start_daemon("");
	for (int i = 0; i < 2000; i++) {
		char from[32];
		int fd;

		(void)snprintf(from, sizeof(from), "127.0.2.%d", 1 + i % 40);
		fd = connect_from(from);
		if (fd != -1)
			fds[n++] = fd;
	}
	ck_assert_int_ge(n, 1900);
	tu_sleep_ms(1000);
	ok = legitimate_requests(&worst);
	ck_assert_msg(ok == 51, "%d of 51 answered during the flood", ok);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	log = read_log();
	if (count_in(log, " warning ") > 10)
		fputs(log, stderr);
	ck_assert_msg(count_in(log, " warning ") <= 10, "%d warnings",
	    count_in(log, " warning "));
	free(log);
}
END_TEST

/* A request path with bytes that are not UTF-8 and a header with an
 * escape sequence: the log shows them escaped. */
START_TEST(test_attack_request_bytes_reach_the_log_escaped)
{
	static const char req[] = "GET /caf\xe9\x9b"
				  "31m/\xff HTTP/1.1\r\n"
				  "Host: x\r\n\r\n";
	char buf[512], *log;
	int fd;

	start_daemon("");
	fd = connect_from("127.0.0.6");
	ck_assert_int_ge(fd, 0);
	tu_sleep_ms(50);
	ck_assert_int_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
	    (ssize_t)(sizeof(req) - 1));
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	}
	close(fd);
	stop_daemon();
	log = read_log();
	assert_has(log, "http GET /caf\\xe9\\x9b31m/\\xff client=127.0.0.6");
	for (const char *p = log; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p != 0x9b &&
			(unsigned char)*p != 0xff && *p != 0x1b,
		    "a raw byte in the log near: %.40s", p);
	free(log);
}
END_TEST

static Suite *
http_attack_suite(void)
{
	Suite *s = suite_create("http_attack");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc,
	    test_attack_website_lock_neither_stalls_the_loop_nor_loses_a_change);
	tcase_add_test(tc, test_attack_a_queued_unsubscribe_survives_kill_9);
	tcase_add_test(tc, test_attack_a_big_import_does_not_stall_the_loop);
	tcase_add_test(tc, test_attack_metrics_scrapers_cost_one_scan);
	tcase_add_test(
	    tc, test_attack_scanner_behind_a_proxy_never_blocks_a_one_click);
	tcase_add_test(tc, test_attack_forged_forwarded_for_is_ignored);
	tcase_add_test(tc, test_attack_idle_connections_do_not_lock_others_out);
	tcase_add_test(
	    tc, test_attack_slow_request_head_is_cut_at_its_deadline);
	tcase_add_test(tc, test_attack_connection_flood_logs_few_warnings);
	tcase_add_test(tc, test_attack_request_bytes_reach_the_log_escaped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = tu_run(http_attack_suite());
	curl_global_cleanup();
	return rc;
}
