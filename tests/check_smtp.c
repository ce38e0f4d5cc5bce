/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_smtp: the smtp transport against a real, scripted SMTP server
 * (tests/servers/smtp_server.py, aiosmtpd) on 127.0.0.1, driven on a real
 * libuv loop. Each test compares what the caller is told (outcome, code,
 * reply, rcpt_rejected) with what the server recorded (envelope, headers
 * and body, byte for byte) or refused to record.
 *
 * TLS tests use a throwaway CA and certificates made with openssl at
 * start, in a temporary folder. Without a python3 that has aiosmtpd the
 * program is skipped (77) and says why.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <uv.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "send/relay.h"
#include "send/relay_store.h"
#include "send/transport.h"
#include "testutil.h"
#include "util.h"

#define SMTP_TEST_MAX_MSGS 256

static char *smtp_test_python;  /* a python3 that has aiosmtpd */
static char *smtp_test_tls_dir; /* NULL: openssl missing */

/* ------------------------------------------------ the server */

struct smtp_test_server {
	int pid;
	int stdin_fd; /* closing it stops the server */
	int port;
	char *dir; /* what it recorded */
	char *log; /* its stdout and stderr */
};

static void
smtp_test_server_start(struct smtp_test_server *srv, const char *base,
    const char *name, const char *const extra[])
{
	char *script =
	    xasprintf("%s/tests/servers/smtp_server.py", tu_srcdir());
	char *port_file, *text;
	const char *argv[32];
	size_t n = 0;
	int fds[2], fd, waited;
	long port;

	memset(srv, 0, sizeof(*srv));
	srv->dir = xasprintf("%s/%s", base, name);
	ck_assert_int_eq(mkdir(srv->dir, 0700), 0);
	srv->log = xasprintf("%s/%s.log", base, name);
	port_file = xasprintf("%s/%s.port", base, name);
	argv[n++] = smtp_test_python;
	argv[n++] = script;
	argv[n++] = "--outdir";
	argv[n++] = srv->dir;
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	/* The server reads its stdin: when this process ends, however it
	 * ends, the pipe closes and the server exits. */
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	srv->pid = (int)fork();
	ck_assert_int_ne(srv->pid, -1);
	if (srv->pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[0]);
	srv->stdin_fd = fds[1];

	for (waited = 0; waited < 15000; waited += 20) {
		text = tu_read_file(port_file, NULL);
		if (text != NULL) {
			text[strcspn(text, "\n")] = '\0';
			ck_assert_int_eq(
			    util_parse_long(text, 1, 65535, &port), 0);
			srv->port = (int)port;
			free(text);
			break;
		}
		if (waitpid((pid_t)srv->pid, NULL, WNOHANG) == srv->pid) {
			text = tu_read_file(srv->log, NULL);
			ck_abort_msg("smtp_server.py exited: %s",
			    text != NULL ? text : "");
		}
		tu_sleep_ms(20);
	}
	ck_assert_msg(srv->port > 0, "smtp_server.py did not start");
	free(port_file);
	free(script);
}

static void
smtp_test_server_stop(struct smtp_test_server *srv)
{
	close(srv->stdin_fd);
	ck_assert_int_eq(tu_wait(srv->pid, 10000), 0);
	free(srv->dir);
	free(srv->log);
}

/* How many lines of the server's commands.log start with prefix. */
static int
smtp_test_count_commands(const struct smtp_test_server *srv, const char *prefix)
{
	char *path = xasprintf("%s/commands.log", srv->dir);
	char *text = tu_read_file(path, NULL);
	int n = 0;

	for (char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	free(text);
	free(path);
	return n;
}

static int
smtp_test_count_messages(const struct smtp_test_server *srv)
{
	DIR *d = opendir(srv->dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "msg-", 4) == 0)
			n++;
	closedir(d);
	return n;
}

/* The nth message the server accepted (from 1): its envelope part
 * (up to the empty line) and its data, both newly allocated. */
static void
smtp_test_recorded(const struct smtp_test_server *srv, int nth, char **envelope,
    char **data, size_t *data_len)
{
	char *path = xasprintf("%s/msg-%06d", srv->dir, nth);
	size_t len;
	char *text = tu_read_file(path, &len);
	char *sep;

	ck_assert_msg(text != NULL, "the server recorded no %s", path);
	sep = strstr(text, "\n\n");
	ck_assert_ptr_nonnull(sep);
	*envelope = xstrndup(text, (size_t)(sep - text) + 1);
	*data_len = len - (size_t)(sep + 2 - text);
	*data = xmalloc(*data_len + 1);
	memcpy(*data, sep + 2, *data_len);
	(*data)[*data_len] = '\0';
	free(text);
	free(path);
}

/* ------------------------------------------------ the transport */

static struct cfg *
smtp_test_cfg(int port, const char *scheme)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));

	cfg->transport = CFG_TRANSPORT_SMTP;
	cfg->smtp_url = xasprintf("%s://127.0.0.1:%d", scheme, port);
	cfg->smtp_tls = CFG_TLS_OFF;
	cfg->smtp_connections = 1;
	cfg->smtp_timeout = 10;
	return cfg;
}

/* Adds a relay [smtp.NAME] at port after those cfg has. */
static struct cfg_relay *
smtp_test_cfg_add_relay(struct cfg *cfg, const char *name, int port)
{
	struct cfg_relay *rl;

	cfg->relays =
	    xreallocarray(cfg->relays, cfg->n_relays + 1, sizeof(*cfg->relays));
	rl = &cfg->relays[cfg->n_relays++];
	memset(rl, 0, sizeof(*rl));
	rl->name = xasprintf("smtp.%s", name);
	rl->url = xasprintf("smtp://127.0.0.1:%d", port);
	rl->tls = CFG_TLS_OFF;
	rl->connections = 1;
	rl->timeout = 10;
	return rl;
}

static void
smtp_test_cfg_free(struct cfg *cfg)
{
	free(cfg->smtp_url);
	free(cfg->smtp_username);
	free(cfg->smtp_password_file);
	free(cfg->smtp_ca_file);
	free(cfg->smtp_ehlo_name);
	for (size_t i = 0; i < cfg->n_relays; i++) {
		free(cfg->relays[i].name);
		free(cfg->relays[i].url);
	}
	free(cfg->relays);
	free(cfg);
}

struct smtp_test_run {
	uv_loop_t loop;
	uv_timer_t watchdog;
	uv_timer_t closer;
	struct transport *t;
	struct transport_msg *todo[SMTP_TEST_MAX_MSGS];
	size_t n_todo, next;
	struct transport_msg *got[SMTP_TEST_MAX_MSGS];
	size_t n_got;
	bool closed;
	bool closed_after_all_done;
	unsigned saw_zero_capacity;
	/* With resubmit, messages handed back untried (no relay takes
	 * mail now) are submitted again, as the sender does, once the
	 * transport takes them: when a relay changes, or by again_timer. */
	bool resubmit;
	uv_timer_t again_timer;
	struct transport_msg *again[SMTP_TEST_MAX_MSGS];
	size_t n_again;
	unsigned n_handed_back;
	char handed_back[512]; /* the reply of the last one */
	unsigned n_relay_changes;
	char relay_states[1024]; /* "name:state " for each change */
};

static void smtp_test_pump(struct smtp_test_run *r);

static void
smtp_test_on_again_timer(uv_timer_t *h)
{
	smtp_test_pump(h->data);
}

/* Submits what it can, as the sender does: what came back untried
 * first. */
static void
smtp_test_pump(struct smtp_test_run *r)
{
	while (r->n_again > 0 && !r->closed) {
		if (transport_capacity(r->t) == 0) {
			/* Until a relay takes mail: the relay callback comes
			 * then, but look now and then too. */
			uv_timer_start(
			    &r->again_timer, smtp_test_on_again_timer, 200, 0);
			return;
		}
		ck_assert_int_eq(
		    transport_submit(r->t, r->again[--r->n_again]), 0);
	}
	while (r->next < r->n_todo) {
		if (transport_capacity(r->t) == 0) {
			r->saw_zero_capacity++;
			return;
		}
		ck_assert_int_eq(transport_submit(r->t, r->todo[r->next]), 0);
		r->todo[r->next++] = NULL;
	}
}

static void
smtp_test_on_done(struct transport_msg *m, void *arg)
{
	struct smtp_test_run *r = arg;

	ck_assert_int_lt(r->n_got, SMTP_TEST_MAX_MSGS);
	ck_assert_msg(!r->closed, "a message came back after closed()");
	if (m->unsent && r->resubmit && m->reply != NULL &&
	    strcmp(m->reply, "shutdown") != 0) {
		r->n_handed_back++;
		(void)snprintf(
		    r->handed_back, sizeof(r->handed_back), "%s", m->reply);
		r->again[r->n_again++] = m;
		smtp_test_pump(r);
		return;
	}
	r->got[r->n_got++] = m;
	smtp_test_pump(r);
}

static void
smtp_test_on_relay(const struct transport_relay *info, void *arg)
{
	struct smtp_test_run *r = arg;
	size_t len = strlen(r->relay_states);

	r->n_relay_changes++;
	(void)snprintf(r->relay_states + len, sizeof(r->relay_states) - len,
	    "%s:%s ", info->name, info->state);
	smtp_test_pump(r);
}

static void
smtp_test_on_watchdog(uv_timer_t *h)
{
	struct smtp_test_run *r = h->data;

	ck_abort_msg("the loop ran too long: %zu of %zu messages done",
	    r->n_got, r->n_todo);
}

static void
smtp_test_on_closed(void *arg)
{
	struct smtp_test_run *r = arg;

	r->closed = true;
	r->closed_after_all_done = r->n_got == r->next;
}

/* Creates the transport; NULL with *err when create() refuses. */
static struct transport *
smtp_test_open(struct smtp_test_run *r, const struct cfg *cfg, char **err)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(uv_loop_init(&r->loop), 0);
	uv_timer_init(&r->loop, &r->watchdog);
	uv_timer_init(&r->loop, &r->closer);
	uv_timer_init(&r->loop, &r->again_timer);
	r->watchdog.data = r;
	r->closer.data = r;
	r->again_timer.data = r;
	*err = NULL;
	r->t = transport_new(&r->loop, cfg, smtp_test_on_done, r, err);
	if (r->t != NULL)
		transport_set_relay_cb(r->t, smtp_test_on_relay, r);
	return r->t;
}

static void
smtp_test_add(struct smtp_test_run *r, const char *rcpt, const char *data)
{
	struct transport_msg *m = transport_msg_new();

	ck_assert_int_lt(r->n_todo, SMTP_TEST_MAX_MSGS);
	m->id = (int64_t)r->n_todo + 1;
	m->envelope_from = xstrdup("bounces+t1@bounces.example.org");
	m->rcpt = xstrdup(rcpt);
	buf_puts(&m->data, data);
	r->todo[r->n_todo++] = m;
}

/* A plain message to rcpt, numbered as its id. */
static void
smtp_test_add_plain(struct smtp_test_run *r, const char *rcpt)
{
	int n = (int)r->n_todo + 1;
	char *data = xasprintf("From: Family Courses <courses@example.org>\r\n"
			       "To: <%s>\r\n"
			       "Subject: Test %d\r\n"
			       "Message-ID: <test.%d@example.org>\r\n"
			       "\r\n"
			       "Message number %d.\r\n",
	    rcpt, n, n, n);

	smtp_test_add(r, rcpt, data);
	free(data);
}

static void
smtp_test_arm_watchdog(struct smtp_test_run *r, uint64_t timeout_ms)
{
	uv_timer_start(&r->watchdog, smtp_test_on_watchdog, timeout_ms, 0);
	uv_unref((uv_handle_t *)&r->watchdog);
}

/* Submits everything (as capacity allows) and runs the loop until every
 * message is back (the transport holds the loop only while messages are
 * in flight); then closes the transport and runs the loop until it is
 * gone. */
static void
smtp_test_run_all(struct smtp_test_run *r, uint64_t timeout_ms)
{
	smtp_test_arm_watchdog(r, timeout_ms);
	smtp_test_pump(r);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ck_assert_uint_eq(r->n_got, r->n_todo);
	ck_assert_uint_eq(transport_inflight(r->t), 0);
	transport_close(r->t, smtp_test_on_closed, r);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ck_assert(r->closed);
}

/* Frees what is left and checks that no handle was left open. */
static void
smtp_test_finish(struct smtp_test_run *r)
{
	uv_close((uv_handle_t *)&r->watchdog, NULL);
	uv_close((uv_handle_t *)&r->closer, NULL);
	uv_close((uv_handle_t *)&r->again_timer, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&r->loop), 0);
	for (size_t i = 0; i < r->n_got; i++)
		transport_msg_free(r->got[i]);
	for (size_t i = 0; i < r->n_todo; i++)
		transport_msg_free(r->todo[i]);
}

static struct transport_msg *
smtp_test_result(struct smtp_test_run *r, int64_t id)
{
	for (size_t i = 0; i < r->n_got; i++)
		if (r->got[i]->id == id)
			return r->got[i];
	ck_abort_msg("message %lld never came back", (long long)id);
	return NULL;
}

static uint64_t
smtp_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
smtp_test_cleanup(struct smtp_test_run *r, struct smtp_test_server *srv,
    struct cfg *cfg, char *base)
{
	smtp_test_finish(r);
	smtp_test_server_stop(srv);
	smtp_test_cfg_free(cfg);
	tu_rmtree(base);
	free(base);
}

/* extra, and "--pipelining" when pipelining, in out (room for 16). */
static const char *const *
smtp_test_extra(const char *const extra[], bool pipelining, const char *out[16])
{
	size_t n = 0;

	for (; extra != NULL && extra[n] != NULL && n < 14; n++)
		out[n] = extra[n];
	if (pipelining)
		out[n++] = "--pipelining";
	out[n] = NULL;
	return out;
}

/* One message to rcpt through a fresh server, one that sends commands
 * one at a time and one that pipelines them; checks the outcome and
 * that the server recorded nothing. */
static void
smtp_test_one_refused_by(const char *rcpt, bool pipelining,
    enum transport_outcome outcome, int code, bool rcpt_rejected,
    const char *reply_part)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	const char *extra[16];
	char *err;

	smtp_test_server_start(
	    &srv, base, "srv", smtp_test_extra(NULL, pipelining, extra));
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, rcpt);
	smtp_test_run_all(&r, 20000);
	m = smtp_test_result(&r, 1);
	ck_assert_int_eq(m->outcome, outcome);
	ck_assert_int_eq(m->code, code);
	ck_assert_int_eq(m->rcpt_rejected, rcpt_rejected);
	ck_assert_ptr_nonnull(m->reply);
	ck_assert_msg(strstr(m->reply, reply_part) != NULL,
	    "reply \"%s\" lacks \"%s\"", m->reply, reply_part);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 0);
	smtp_test_cleanup(&r, &srv, cfg, base);
}

static void
smtp_test_one_refused(const char *rcpt, enum transport_outcome outcome,
    int code, bool rcpt_rejected, const char *reply_part)
{
	smtp_test_one_refused_by(
	    rcpt, false, outcome, code, rcpt_rejected, reply_part);
	smtp_test_one_refused_by(
	    rcpt, true, outcome, code, rcpt_rejected, reply_part);
}

/* ------------------------------------------------ tests */

START_TEST(test_smtp_delivers_envelope_headers_and_body_byte_exact)
{
	/* Lines that start with dots, a lone dot and an empty line: the
	 * SMTP dot-stuffing must be undone exactly by the server. */
	static const char data[] =
	    "From: Family Courses <courses@example.org>\r\n"
	    "To: Ann <ann@example.net>\r\n"
	    "Subject: Your booking FC-1234\r\n"
	    "Message-ID: <booking.1@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "Dear Ann,\r\n"
	    ".\r\n"
	    "..two dots\r\n"
	    ".one dot\r\n"
	    "\r\n"
	    "See you in Cardiff.\r\n";
	char *base = tu_mkdtemp(), *envelope, *got;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	size_t len;
	char *err;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add(&r, "ann@example.net", data);
	smtp_test_run_all(&r, 20000);

	m = smtp_test_result(&r, 1);
	ck_assert_int_eq(m->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(m->code, 250);
	ck_assert_str_eq(m->reply, "250 2.0.0 Ok: queued as TEST000001");
	ck_assert(!m->rcpt_rejected);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 1);
	smtp_test_recorded(&srv, 1, &envelope, &got, &len);
	ck_assert_str_eq(envelope,
	    "from bounces+t1@bounces.example.org\n"
	    "rcpt ann@example.net\n"
	    "tls no\n"
	    "auth -\n");
	ck_assert_uint_eq(len, strlen(data));
	ck_assert_str_eq(got, data);
	free(envelope);
	free(got);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_fails_a_recipient_rejected_at_rcpt_as_a_bounce)
{
	smtp_test_one_refused("reject-550@example.net", TRANSPORT_FAIL, 550,
	    true, "550 5.1.1 <reject-550@example.net>: Recipient");
}
END_TEST

START_TEST(test_smtp_defers_a_451_at_rcpt)
{
	smtp_test_one_refused(
	    "defer-451@example.net", TRANSPORT_DEFER, 451, false, "451 4.3.0");
}
END_TEST

START_TEST(test_smtp_fails_a_554_after_data_without_a_bounce)
{
	smtp_test_one_refused("data-554@example.net", TRANSPORT_FAIL, 554,
	    false, "554 5.7.1 Message rejected as spam");
}
END_TEST

START_TEST(test_smtp_defers_a_452_after_data)
{
	smtp_test_one_refused(
	    "data-452@example.net", TRANSPORT_DEFER, 452, false, "452 4.3.1");
}
END_TEST

/* One connection, a failing message then a good one: the failure must
 * not poison the connection, which is opened again. With pipelining the
 * good one's commands went out with the bad one's data, on the
 * connection that failed: it must start afresh on the new one. The
 * relay is thought down meanwhile, so the good one may come back
 * untried and go when the relay is probed: as the sender would, it is
 * submitted again. */
static void
smtp_test_failure_then_success_by(const char *bad, const char *const extra[],
    bool pipelining, int timeout, int code)
{
	char *base = tu_mkdtemp(), *envelope, *data;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	const char *args[16];
	uint64_t start;
	size_t len;
	char *err;

	smtp_test_server_start(
	    &srv, base, "srv", smtp_test_extra(extra, pipelining, args));
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_timeout = timeout;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	r.resubmit = true;
	smtp_test_add_plain(&r, bad);
	smtp_test_add_plain(&r, "after@example.net");
	start = smtp_test_now_ms();
	smtp_test_run_all(&r, 20000);

	m = smtp_test_result(&r, 1);
	ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
	ck_assert_int_eq(m->code, code);
	ck_assert(!m->rcpt_rejected);
	ck_assert_ptr_nonnull(m->reply);
	ck_assert_str_ne(m->reply, "");
	m = smtp_test_result(&r, 2);
	ck_assert_int_eq(m->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(m->code, 250);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 1);
	smtp_test_recorded(&srv, 1, &envelope, &data, &len);
	ck_assert(strstr(envelope, "rcpt after@example.net\n") != NULL);
	ck_assert(strstr(data, "Message number 2.") != NULL);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 2);
	/* A slow reply is cut at the timeout, not waited for. */
	ck_assert_uint_lt(smtp_test_now_ms() - start,
	    (uint64_t)timeout * 1000 + 3000 + RELAY_BACKOFF_MIN * 1000);
	free(envelope);
	free(data);
	smtp_test_cleanup(&r, &srv, cfg, base);
}

static void
smtp_test_failure_then_success(
    const char *bad, const char *const extra[], int timeout, int code)
{
	smtp_test_failure_then_success_by(bad, extra, false, timeout, code);
	smtp_test_failure_then_success_by(bad, extra, true, timeout, code);
}

START_TEST(test_smtp_defers_a_dropped_connection_and_sends_the_next)
{
	smtp_test_failure_then_success("drop@example.net", NULL, 10, 0);
}
END_TEST

START_TEST(test_smtp_defers_a_reply_slower_than_the_timeout)
{
	static const char *const extra[] = { "--slow-secs", "6", NULL };

	smtp_test_failure_then_success("slow@example.net", extra, 1, 0);
}
END_TEST

START_TEST(test_smtp_sends_the_next_message_after_a_rejected_recipient)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	char *err;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "one@example.net");
	smtp_test_add_plain(&r, "reject-550@example.net");
	smtp_test_add_plain(&r, "two@example.net");
	smtp_test_run_all(&r, 20000);
	ck_assert_int_eq(smtp_test_result(&r, 1)->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(smtp_test_result(&r, 2)->outcome, TRANSPORT_FAIL);
	ck_assert_int_eq(smtp_test_result(&r, 3)->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 2);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* A server that offers PIPELINING gets each message's MAIL, RCPT and
 * DATA with the data of the one before, on one connection. Whatever
 * becomes of one message (refused after its data, refused at RCPT)
 * must not spill onto the next, whose commands were already sent. */
START_TEST(test_smtp_pipelines_a_queue_on_one_connection_outcome_by_outcome)
{
	static const char *const extra[] = { "--pipelining", NULL };
	static const char *const rcpts[] = {
		"one@example.net",
		"data-554@example.net",
		"reject-550@example.net",
		"defer-451@example.net",
		"two.dots@example.net",
		"data-452@example.net",
		"three@example.net",
	};
	static const enum transport_outcome want[] = {
		TRANSPORT_SENT,
		TRANSPORT_FAIL,
		TRANSPORT_FAIL,
		TRANSPORT_DEFER,
		TRANSPORT_SENT,
		TRANSPORT_DEFER,
		TRANSPORT_SENT,
	};
	static const int codes[] = { 250, 554, 550, 451, 250, 452, 250 };
	char *base = tu_mkdtemp(), *envelope, *data;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	size_t len;
	char *err;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rcpts); i++)
		smtp_test_add_plain(&r, rcpts[i]);
	smtp_test_run_all(&r, 20000);

	for (size_t i = 0; i < UTIL_ARRAY_LEN(rcpts); i++) {
		m = smtp_test_result(&r, (int64_t)i + 1);
		ck_assert_msg(m->outcome == want[i] && m->code == codes[i],
		    "%s: outcome %d code %d reply \"%s\"", rcpts[i], m->outcome,
		    m->code, m->reply);
		ck_assert_int_eq(m->rcpt_rejected, i == 2);
	}
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 1);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 3);
	for (int k = 1; k <= 3; k++) {
		static const char *const who[] = { "one", "two.dots", "three" };
		static const int nth[] = { 1, 5, 7 };
		char *want_rcpt =
		    xasprintf("rcpt %s@example.net\n", who[k - 1]);
		char *want_body = xasprintf("Message number %d.", nth[k - 1]);

		smtp_test_recorded(&srv, k, &envelope, &data, &len);
		ck_assert_msg(
		    strstr(envelope, want_rcpt) != NULL, "%s", envelope);
		ck_assert_msg(strstr(data, want_body) != NULL, "%s", data);
		free(want_rcpt);
		free(want_body);
		free(envelope);
		free(data);
	}
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* Held until committed, with no sent log: a connection whose server
 * accepted a message does not end the next one's data until the
 * outcome is committed, so that a crash repeats one message at most. */
START_TEST(test_smtp_hold_keeps_the_next_data_until_the_commit)
{
	static const char *const extra[] = { "--pipelining", NULL };
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	uint64_t start;
	char *err;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	transport_hold_until_committed(r.t);
	smtp_test_add_plain(&r, "one@example.net");
	smtp_test_add_plain(&r, "two@example.net");
	smtp_test_arm_watchdog(&r, 20000);
	smtp_test_pump(&r);
	while (r.n_got < 1)
		uv_run(&r.loop, UV_RUN_ONCE);
	start = smtp_test_now_ms();
	while (smtp_test_now_ms() - start < 700) {
		uv_run(&r.loop, UV_RUN_NOWAIT);
		tu_sleep_ms(20);
	}
	ck_assert_uint_eq(r.n_got, 1);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 1);
	/* Its commands went with the first one's data; only the end of
	 * its data waits. */
	ck_assert_int_eq(smtp_test_count_commands(&srv, "RCPT two"), 1);
	transport_committed(r.t);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	ck_assert_uint_eq(r.n_got, 2);
	ck_assert_int_eq(smtp_test_result(&r, 2)->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 2);
	transport_close(r.t, smtp_test_on_closed, &r);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	ck_assert(r.closed);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* log holds a line that is want once its second field (the time) is
 * made "%". */
static void
smtp_test_assert_log_line(const char *log, const char *want)
{
	for (const char *l = log; *l != '\0';) {
		size_t n = strcspn(l, "\n");
		const char *t = memchr(l, ' ', n), *u;
		char *line;
		bool same;

		if (t != NULL) {
			u = memchr(t + 1, ' ', n - (size_t)(t + 1 - l));
			if (u != NULL) {
				line = xasprintf("%.*s%%%.*s", (int)(t + 1 - l),
				    l, (int)(n - (size_t)(u - l)), u);
				same = strcmp(line, want) == 0;
				free(line);
				if (same)
					return;
			}
		}
		l += n + (l[n] == '\n');
	}
	ck_abort_msg("no line \"%s\" in the sent log:\n%s", want, log);
}

/* With the sent log the connection goes on without waiting for commits
 * (none comes here): each acceptance is a line of the log instead, and
 * the files stay while their lines are not committed. */
START_TEST(test_smtp_sent_log_records_acceptances_instead_of_waiting)
{
	static const char *const extra[] = { "--pipelining", NULL };
	char *base = tu_mkdtemp(), *dbpath, *text;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct buf all;
	struct dirent *de;
	struct cfg *cfg;
	DIR *d;
	char *err;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	dbpath = xasprintf("%s/fm.db", base);
	transport_hold_until_committed(r.t);
	ck_assert_int_eq(transport_log_sent(r.t, dbpath, &err), 0);
	smtp_test_add_plain(&r, "one@example.net");
	smtp_test_add_plain(&r, "reject-550@example.net");
	smtp_test_add_plain(&r, "two@example.net");
	smtp_test_add_plain(&r, "three@example.net");
	for (size_t i = 0; i < r.n_todo; i++)
		r.todo[i]->message_id =
		    xasprintf("test.%zu@example.org", i + 1);
	smtp_test_run_all(&r, 20000);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 3);

	buf_init(&all);
	d = opendir(base);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char *path;

		if (strncmp(de->d_name, "fm.db-sent-", 11) != 0)
			continue;
		path = xasprintf("%s/%s", base, de->d_name);
		text = tu_read_file(path, NULL);
		ck_assert_ptr_nonnull(text);
		buf_puts(&all, text);
		free(text);
		free(path);
	}
	closedir(d);
	for (int id = 1, seq = 1; id <= 4; id++) {
		char *want;

		if (id == 2)
			continue; /* refused at RCPT: no acceptance */
		want = xasprintf("%d %s 250 test.%d@example.org relay=smtp 250 "
				 "2.0.0 Ok: queued as TEST%06d",
		    id, "%", id, seq++);
		smtp_test_assert_log_line(all.data, want);
		free(want);
	}
	ck_assert_ptr_null(strstr(all.data, "\n2 "));
	ck_assert(strncmp(all.data, "2 ", 2) != 0);
	buf_fini(&all);
	free(dbpath);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_sends_twenty_messages_over_four_connections_once_each)
{
	static const char *const extra[] = { "--delay-ms", "30", NULL };
	char *base = tu_mkdtemp(), *envelope, *data, text[64];
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	static const char head[] = "from bounces+t1@bounces.example.org\n"
				   "rcpt user";
	int seen[20] = { 0 }, connects;
	size_t len;
	long k;
	char *err, *end;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_connections = 4;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	/* Two per connection and a small queue ahead of them. */
	ck_assert_uint_eq(transport_capacity(r.t), 2 * 4 + 128);
	for (int i = 0; i < 20; i++) {
		(void)snprintf(text, sizeof(text), "user%d@example.net", i);
		smtp_test_add_plain(&r, text);
	}
	smtp_test_run_all(&r, 30000);

	for (int64_t id = 1; id <= 20; id++) {
		struct transport_msg *m = smtp_test_result(&r, id);

		ck_assert_int_eq(m->outcome, TRANSPORT_SENT);
		ck_assert_int_eq(m->code, 250);
	}
	ck_assert_int_eq(smtp_test_count_messages(&srv), 20);
	for (int i = 1; i <= 20; i++) {
		smtp_test_recorded(&srv, i, &envelope, &data, &len);
		ck_assert_msg(strncmp(envelope, head, strlen(head)) == 0,
		    "envelope %s", envelope);
		k = strtol(envelope + strlen(head), &end, 10);
		ck_assert_int_eq(*end, '@');
		ck_assert(k >= 0 && k < 20);
		(void)snprintf(
		    text, sizeof(text), "Message number %ld.", k + 1);
		ck_assert(strstr(data, text) != NULL);
		seen[k]++;
		free(envelope);
		free(data);
	}
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(seen[i], 1);
	/* Connections are kept and reused, never one per message. */
	connects = smtp_test_count_commands(&srv, "CONNECT");
	ck_assert_int_ge(connects, 2);
	ck_assert_int_le(connects, 4);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_rate_limit_spaces_messages_out)
{
	char *base = tu_mkdtemp(), rcpt[64];
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	uint64_t start, took;
	char *err;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_connections = 4;
	cfg->smtp_rate.count = 5;
	cfg->smtp_rate.per_sec = 1;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (int i = 0; i < 9; i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "rate%d@example.net", i);
		smtp_test_add_plain(&r, rcpt);
	}
	start = smtp_test_now_ms();
	smtp_test_run_all(&r, 20000);
	took = smtp_test_now_ms() - start;
	/* 5 at once (one second's worth), then one every 200 ms. */
	ck_assert_msg(took >= 700, "9 messages at 5/s took %llu ms",
	    (unsigned long long)took);
	ck_assert_msg(took < 5000, "took %llu ms", (unsigned long long)took);
	for (int64_t id = 1; id <= 9; id++)
		ck_assert_int_eq(
		    smtp_test_result(&r, id)->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 9);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_refuses_submit_when_full_closing_or_given_bad_addresses)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *extra, *bad;
	struct cfg *cfg;
	char *err;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_arm_watchdog(&r, 20000);

	/* An address must not be able to add an SMTP command. */
	bad = transport_msg_new();
	bad->rcpt = xstrdup("a@example.net>\r\nRSET");
	buf_puts(&bad->data, "x\r\n");
	ck_assert_int_eq(transport_submit(r.t, bad), -EINVAL);
	free(bad->rcpt);
	bad->rcpt = xstrdup("ok@example.net");
	bad->envelope_from = xstrdup("a b@example.org");
	ck_assert_int_eq(transport_submit(r.t, bad), -EINVAL);
	transport_msg_free(bad);

	/* One connection takes two messages at a time, with 128 queued
	 * ahead of them; the next is refused until one is done. */
	for (int i = 0; i < 2 + 128; i++) {
		char rcpt[64];

		(void)snprintf(rcpt, sizeof(rcpt), "c%d@example.net", i);
		smtp_test_add_plain(&r, rcpt);
	}
	smtp_test_pump(&r);
	ck_assert_uint_eq(transport_capacity(r.t), 0);
	ck_assert_uint_eq(transport_inflight(r.t), 130);
	extra = transport_msg_new();
	extra->rcpt = xstrdup("extra@example.net");
	ck_assert_int_eq(transport_submit(r.t, extra), -EAGAIN);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	ck_assert_uint_eq(r.n_got, 130);
	ck_assert_uint_eq(transport_capacity(r.t), 130);

	transport_close(r.t, smtp_test_on_closed, &r);
	ck_assert_uint_eq(transport_capacity(r.t), 0);
	ck_assert_int_eq(transport_submit(r.t, extra), -ESHUTDOWN);
	transport_msg_free(extra);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	ck_assert(r.closed);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 130);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

static void
smtp_test_on_closer(uv_timer_t *h)
{
	struct smtp_test_run *r = h->data;

	transport_close(r->t, smtp_test_on_closed, r);
}

/* Submits every message, closes the transport close_ms later and runs
 * the loop until it is closed. */
static void
smtp_test_run_and_close(struct smtp_test_run *r, uint64_t close_ms)
{
	smtp_test_arm_watchdog(r, 20000);
	smtp_test_pump(r);
	ck_assert_uint_eq(r->next, r->n_todo);
	uv_timer_start(&r->closer, smtp_test_on_closer, close_ms, 0);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ck_assert(r->closed);
	ck_assert(r->closed_after_all_done);
	ck_assert_uint_eq(r->n_got, r->n_todo);
}

START_TEST(test_smtp_close_finishes_the_message_in_flight_and_defers_the_rest)
{
	static const char *const extra[] = { "--delay-ms", "800", NULL };
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	char *err;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "first@example.net");
	smtp_test_add_plain(&r, "second@example.net");
	smtp_test_run_and_close(&r, 300);

	m = smtp_test_result(&r, 1);
	ck_assert_int_eq(m->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(m->code, 250);
	m = smtp_test_result(&r, 2);
	ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
	ck_assert_int_eq(m->code, 0);
	ck_assert_str_eq(m->reply, "shutdown");
	ck_assert_int_eq(smtp_test_count_messages(&srv), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "RCPT second"), 0);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_close_defers_messages_held_by_the_rate_limit)
{
	static const char *const extra[] = { "--delay-ms", "500", NULL };
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;
	char *err;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_connections = 2;
	cfg->smtp_rate.count = 1;
	cfg->smtp_rate.per_sec = 60;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (int i = 0; i < 4; i++)
		smtp_test_add_plain(&r, "held@example.net");
	smtp_test_run_and_close(&r, 200);

	ck_assert_int_eq(smtp_test_result(&r, 1)->outcome, TRANSPORT_SENT);
	for (int64_t id = 2; id <= 4; id++) {
		m = smtp_test_result(&r, id);
		ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
		ck_assert_str_eq(m->reply, "shutdown");
	}
	ck_assert_int_eq(smtp_test_count_messages(&srv), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "MAIL"), 1);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

START_TEST(test_smtp_create_refuses_a_password_file_others_can_read)
{
	char *base = tu_mkdtemp();
	struct smtp_test_run r;
	struct cfg *cfg = smtp_test_cfg(25, "smtp");
	char *err;

	cfg->smtp_username = xstrdup("familymail");
	cfg->smtp_password_file = tu_write_file(base, "password", "secret\n");
	ck_assert_int_eq(chmod(cfg->smtp_password_file, 0644), 0);
	ck_assert_ptr_null(smtp_test_open(&r, cfg, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "password_file") != NULL, "%s", err);
	free(err);
	smtp_test_finish(&r);

	ck_assert_int_eq(chmod(cfg->smtp_password_file, 0600), 0);
	free(cfg->smtp_url);
	cfg->smtp_url = xstrdup("http://127.0.0.1:25");
	ck_assert_ptr_null(smtp_test_open(&r, cfg, &err));
	ck_assert_msg(strstr(err, "smtp://") != NULL, "%s", err);
	free(err);
	smtp_test_finish(&r);
	smtp_test_cfg_free(cfg);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* ------------------------------------------------ TLS and AUTH */

/* Starts a server with TLS (cert "server", signed by the test CA, or
 * "rogue", self-signed; NULL for none) and AUTH when auth_pass is set,
 * and sends one message to it with STARTTLS required (or smtps://) and
 * the test CA as smtp_ca_file. auth_pass is what the password file
 * holds; the server wants "correct horse". */
static struct transport_msg *
smtp_test_tls_run(struct smtp_test_run *r, struct smtp_test_server *srv,
    const char *base, const char *scheme, const char *cert,
    const char *auth_pass, int count, bool pipelining)
{
	char cert_path[512], key_path[512];
	const char *extra[16];
	struct cfg *cfg;
	size_t n = 0;
	char *err;

	if (cert != NULL) {
		ck_assert_int_lt(snprintf(cert_path, sizeof(cert_path),
				     "%s/%s.pem", smtp_test_tls_dir, cert),
		    sizeof(cert_path));
		ck_assert_int_lt(snprintf(key_path, sizeof(key_path),
				     "%s/%s.key", smtp_test_tls_dir, cert),
		    sizeof(key_path));
		extra[n++] = "--tls-cert";
		extra[n++] = cert_path;
		extra[n++] = "--tls-key";
		extra[n++] = key_path;
	}
	if (strcmp(scheme, "smtps") == 0)
		extra[n++] = "--implicit-tls";
	if (auth_pass != NULL) {
		extra[n++] = "--auth-user";
		extra[n++] = "familymail";
		extra[n++] = "--auth-pass";
		extra[n++] = "correct horse";
	}
	if (pipelining)
		extra[n++] = "--pipelining";
	extra[n] = NULL;
	smtp_test_server_start(srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv->port, scheme);
	cfg->smtp_tls = CFG_TLS_REQUIRED;
	cfg->smtp_ca_file = xasprintf("%s/ca.pem", smtp_test_tls_dir);
	if (auth_pass != NULL) {
		cfg->smtp_username = xstrdup("familymail");
		cfg->smtp_password_file =
		    tu_write_file(base, "password", auth_pass);
		ck_assert_int_eq(chmod(cfg->smtp_password_file, 0600), 0);
	}
	ck_assert_msg(smtp_test_open(r, cfg, &err) != NULL, "%s", err);
	smtp_test_cfg_free(cfg);
	for (int i = 0; i < count; i++)
		smtp_test_add_plain(r, "tls@example.net");
	smtp_test_run_all(r, 20000);
	return smtp_test_result(r, 1);
}

static struct transport_msg *
smtp_test_tls_one(struct smtp_test_run *r, struct smtp_test_server *srv,
    const char *base, const char *scheme, const char *cert,
    const char *auth_pass)
{
	return smtp_test_tls_run(
	    r, srv, base, scheme, cert, auth_pass, 1, false);
}

static void
smtp_test_tls_done(
    struct smtp_test_run *r, struct smtp_test_server *srv, char *base)
{
	smtp_test_finish(r);
	smtp_test_server_stop(srv);
	tu_rmtree(base);
	free(base);
}

/* The server recorded count messages, the n-th "Message number n.",
 * each over TLS and authenticated as auth. */
static void
smtp_test_assert_all_over_tls(
    const struct smtp_test_server *srv, const char *auth, int count)
{
	char *envelope, *data, *want, *body;
	size_t len;

	ck_assert_int_eq(smtp_test_count_messages(srv), count);
	want = xasprintf("from bounces+t1@bounces.example.org\n"
			 "rcpt tls@example.net\n"
			 "tls yes\n"
			 "auth %s\n",
	    auth);
	for (int i = 1; i <= count; i++) {
		smtp_test_recorded(srv, i, &envelope, &data, &len);
		ck_assert_str_eq(envelope, want);
		body = xasprintf("Message number %d.", i);
		ck_assert_msg(strstr(data, body) != NULL, "%s", data);
		free(body);
		free(envelope);
		free(data);
	}
	free(want);
}

static void
smtp_test_assert_sent_over_tls(
    const struct smtp_test_server *srv, const char *auth)
{
	smtp_test_assert_all_over_tls(srv, auth, 1);
}

START_TEST(test_smtp_sends_over_starttls_checked_against_the_ca_file)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	m = smtp_test_tls_one(&r, &srv, base, "smtp", "server", NULL);
	ck_assert_msg(m->outcome == TRANSPORT_SENT, "reply: %s", m->reply);
	ck_assert_int_eq(m->code, 250);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "STARTTLS"), 1);
	smtp_test_assert_sent_over_tls(&srv, "-");
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

START_TEST(test_smtp_sends_over_implicit_tls_with_smtps)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	m = smtp_test_tls_one(&r, &srv, base, "smtps", "server", NULL);
	ck_assert_msg(m->outcome == TRANSPORT_SENT, "reply: %s", m->reply);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "STARTTLS"), 0);
	smtp_test_assert_sent_over_tls(&srv, "-");
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

START_TEST(test_smtp_defers_when_the_server_offers_no_starttls)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	m = smtp_test_tls_one(&r, &srv, base, "smtp", NULL, NULL);
	ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
	ck_assert_int_eq(m->code, 0);
	ck_assert_msg(
	    strstr(m->reply, "STARTTLS") != NULL, "reply: %s", m->reply);
	/* Nothing of the message went out in clear. */
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "MAIL"), 0);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 0);
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

START_TEST(test_smtp_refuses_a_certificate_not_signed_by_the_ca)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	m = smtp_test_tls_one(&r, &srv, base, "smtp", "rogue", NULL);
	ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
	ck_assert_int_eq(m->code, 0);
	ck_assert_str_ne(m->reply, "");
	ck_assert_int_eq(smtp_test_count_commands(&srv, "MAIL"), 0);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 0);
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

START_TEST(test_smtp_authenticates_with_the_password_file)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	/* The file's trailing newline is not part of the password. */
	m = smtp_test_tls_one(
	    &r, &srv, base, "smtp", "server", "correct horse\n");
	ck_assert_msg(m->outcome == TRANSPORT_SENT, "reply: %s", m->reply);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "AUTH"), 1);
	smtp_test_assert_sent_over_tls(&srv, "familymail");
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

/* Over STARTTLS with AUTH, to a server that offers PIPELINING: the
 * commands and data of several messages in one TLS stream, each reply
 * read from what the TLS layer has already decrypted before the socket
 * is waited on. */
START_TEST(test_smtp_pipelines_over_starttls_with_auth)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;

	smtp_test_tls_run(
	    &r, &srv, base, "smtp", "server", "correct horse", 6, true);
	for (size_t i = 0; i < r.n_got; i++)
		ck_assert_msg(r.got[i]->outcome == TRANSPORT_SENT, "reply: %s",
		    r.got[i]->reply);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "AUTH"), 1);
	smtp_test_assert_all_over_tls(&srv, "familymail", 6);
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

START_TEST(test_smtp_defers_on_a_wrong_password)
{
	char *base = tu_mkdtemp();
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;

	/* A 535 is about the configuration, not the message: deferred, so
	 * that fixing the password file lets the queue go out. */
	m = smtp_test_tls_one(&r, &srv, base, "smtp", "server", "wrong\n");
	ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
	ck_assert_int_eq(m->code, 535);
	ck_assert(!m->rcpt_rejected);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "MAIL"), 0);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 0);
	smtp_test_tls_done(&r, &srv, base);
}
END_TEST

/* ------------------------------------------------ session faults */

static char *smtp_test_recorded_for(
    const struct smtp_test_server *srv, const char *rcpt);

static void
smtp_test_on_tick(uv_timer_t *h)
{
	(void)h;
}

/* Runs the loop until cond(r) or timeout_ms, submitting what comes
 * back untried as the sender would. */
static void
smtp_test_run_until(struct smtp_test_run *r,
    bool (*cond)(struct smtp_test_run *), uint64_t timeout_ms)
{
	uint64_t end = smtp_test_now_ms() + timeout_ms;

	/* The relays' timers keep no loop alive: this one does. */
	uv_timer_start(&r->closer, smtp_test_on_tick, 20, 20);
	smtp_test_pump(r);
	while (!cond(r)) {
		ck_assert_msg(smtp_test_now_ms() < end,
		    "timed out: %zu of %zu back, relays: %s", r->n_got,
		    r->n_todo, r->relay_states);
		uv_run(&r->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&r->closer);
}

static bool
smtp_test_all_back(struct smtp_test_run *r)
{
	return r->n_got == r->n_todo;
}

/* Closes the transport and runs the loop until it is gone. */
static void
smtp_test_close(struct smtp_test_run *r)
{
	transport_close(r->t, smtp_test_on_closed, r);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	ck_assert(r->closed);
}

/* A relay limited to 30 messages a minute takes two seconds of its
 * rate ahead of its threads, not the 128 messages (four minutes) an
 * unlimited one holds to batch claims: composed mail would otherwise
 * wait minutes, past an unsubscribe or a cancellation. A confirmation
 * still finds room when bulk mail has filled its share. */
START_TEST(test_smtp_rate_limited_relay_holds_seconds_of_mail_not_minutes)
{
	char *base = tu_mkdtemp(), rcpt[64];
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	unsigned bulk;
	char *err;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_connections = 2;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	ck_assert_uint_ge(
	    transport_lane_capacity(r.t, TRANSPORT_LANE_BULK), 64);
	smtp_test_close(&r);
	smtp_test_finish(&r);

	cfg->smtp_rate.count = 30;
	cfg->smtp_rate.per_sec = 60;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	bulk = transport_lane_capacity(r.t, TRANSPORT_LANE_BULK);
	/* One a thread, and one (two seconds at 30/min) waiting. */
	ck_assert_uint_eq(bulk, 3);
	for (unsigned i = 0; i < bulk; i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "reader%u@example.net", i);
		smtp_test_add_plain(&r, rcpt);
		r.todo[i]->bulk = true;
	}
	smtp_test_pump(&r);
	ck_assert_uint_eq(r.next, bulk);
	ck_assert_uint_eq(transport_lane_capacity(r.t, TRANSPORT_LANE_BULK), 0);
	ck_assert_uint_ge(
	    transport_lane_capacity(r.t, TRANSPORT_LANE_BOOKING), 2);
	smtp_test_close(&r);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* A relay's limit of messages per connection, as Exim's (421 at MAIL,
 * then closed) and OpenSMTPD's (452 at MAIL, the connection kept): the
 * message refused goes again at once on a new connection, without
 * coming back, and nothing is lost or sent twice. The connection left
 * gets QUIT. */
static void
smtp_test_session_limit(const char *limit_reply, bool pipelining)
{
	const char *extra[] = { "--max-per-session", "2", "--limit-reply",
		limit_reply, NULL };
	char *base = tu_mkdtemp(), *err;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	const char *args[16];
	struct cfg *cfg;
	char rcpt[64];

	smtp_test_server_start(
	    &srv, base, "srv", smtp_test_extra(extra, pipelining, args));
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	r.resubmit = true;
	for (int i = 1; i <= 5; i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "reader%d@example.net", i);
		smtp_test_add_plain(&r, rcpt);
	}
	smtp_test_run_all(&r, 20000);
	for (int64_t id = 1; id <= 5; id++) {
		struct transport_msg *m = smtp_test_result(&r, id);

		ck_assert_msg(m->outcome == TRANSPORT_SENT, "%lld: %s",
		    (long long)id, m->reply);
	}
	ck_assert_uint_eq(r.n_handed_back, 0);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 5);
	for (int i = 1; i <= 5; i++) {
		(void)snprintf(rcpt, sizeof(rcpt), "reader%d@example.net", i);
		free(smtp_test_recorded_for(&srv, rcpt));
	}
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 3);
	if (limit_reply[0] == '4' && strncmp(limit_reply, "421", 3) != 0)
		ck_assert_int_eq(smtp_test_count_commands(&srv, "QUIT"), 3);
	else
		ck_assert_int_eq(smtp_test_count_commands(&srv, "QUIT"), 1);
	smtp_test_cleanup(&r, &srv, cfg, base);
}

START_TEST(test_smtp_opens_a_new_connection_when_mail_gets_a_4xx)
{
	smtp_test_session_limit("452 4.5.3 Too many messages sent", false);
	smtp_test_session_limit("452 4.5.3 Too many messages sent", true);
}
END_TEST

START_TEST(test_smtp_resends_at_once_after_a_421_per_connection_limit)
{
	smtp_test_session_limit(
	    "421 4.7.0 Too many messages on this connection", false);
	smtp_test_session_limit(
	    "421 4.7.0 Too many messages on this connection", true);
}
END_TEST

/* A connection the relay closed while it was idle (421, then closed) is
 * found closed before it is used: the next message goes on a new one,
 * at once, and is not deferred. */
START_TEST(test_smtp_checks_an_idle_connection_before_reusing_it)
{
	static const char *const extra[] = { "--idle-secs", "1", NULL };
	char *base = tu_mkdtemp(), *err;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;

	smtp_test_server_start(&srv, base, "srv", extra);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "before@example.net");
	smtp_test_arm_watchdog(&r, 20000);
	smtp_test_run_until(&r, smtp_test_all_back, 15000);
	/* The relay says 421 and closes it meanwhile. */
	for (int i = 0; i < 300 && smtp_test_count_commands(&srv, "IDLE") == 0;
	     i++)
		usleep(10000);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "IDLE-421"), 1);
	usleep(100000);
	smtp_test_add_plain(&r, "after@example.net");
	smtp_test_run_until(&r, smtp_test_all_back, 15000);
	ck_assert_int_eq(smtp_test_result(&r, 2)->outcome, TRANSPORT_SENT);
	ck_assert_uint_eq(r.n_handed_back, 0);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 2);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 2);
	smtp_test_close(&r);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* The end of a connection: QUIT, and the 221 read before it is closed. */
START_TEST(test_smtp_ends_each_connection_with_quit)
{
	char *base = tu_mkdtemp(), *err;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_connections = 2;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (int i = 0; i < 6; i++)
		smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_run_all(&r, 20000);
	/* Each connection that was opened is closed with QUIT; the
	 * server logs it before it answers 221. */
	ck_assert_int_ge(smtp_test_count_commands(&srv, "QUIT"), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "QUIT"),
	    smtp_test_count_commands(&srv, "CONNECT"));
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* The name in EHLO of the message's line of the log. */
static char *
smtp_test_ehlo_name(const struct smtp_test_server *srv)
{
	char *path = xasprintf("%s/commands.log", srv->dir);
	char *text = tu_read_file(path, NULL), *p, *name;

	ck_assert_ptr_nonnull(text);
	p = strstr(text, "EHLO ");
	ck_assert_ptr_nonnull(p);
	name = xstrndup(p + 5, strcspn(p + 5, "\n"));
	free(text);
	free(path);
	return name;
}

/* EHLO names the host as configured, else by a fully qualified name:
 * the machine's, or, when it has none, the domain of [sender] from:
 * never a bare host name, which many relays refuse. */
START_TEST(test_smtp_greets_with_a_configured_or_fully_qualified_name)
{
	char *base = tu_mkdtemp(), *err, *name;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_ehlo_name = xstrdup("mail.example.org");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_run_all(&r, 20000);
	name = smtp_test_ehlo_name(&srv);
	ck_assert_str_eq(name, "mail.example.org");
	free(name);
	smtp_test_cleanup(&r, &srv, cfg, base);

	base = tu_mkdtemp();
	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->from_addr = (char *)"courses@example.org";
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_run_all(&r, 20000);
	name = smtp_test_ehlo_name(&srv);
	ck_assert_msg(strchr(name, '.') != NULL, "EHLO %s", name);
	free(name);
	cfg->from_addr = NULL;
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* An address beyond ASCII goes with SMTPUTF8 where the relay offers
 * it; where it does not, the message fails with the reason in words,
 * nothing of it sent and nothing said against the recipient. */
START_TEST(test_smtp_sends_smtputf8_where_offered_and_says_why_not)
{
	static const char *const utf8[] = { "--smtputf8", NULL };
	char *base = tu_mkdtemp(), *err, *text;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct transport_msg *m;
	struct cfg *cfg;

	smtp_test_server_start(&srv, base, "srv", utf8);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "zo\xc3\xab@example.net");
	smtp_test_add_plain(&r, "plain@example.net");
	smtp_test_run_all(&r, 20000);
	m = smtp_test_result(&r, 1);
	ck_assert_msg(m->outcome == TRANSPORT_SENT, "%s", m->reply);
	ck_assert_int_eq(smtp_test_count_commands(&srv,
			     "MAIL bounces+t1@bounces.example.org SMTPUTF8"),
	    1);
	text = smtp_test_recorded_for(&srv, "zo\xc3\xab@example.net");
	free(text);
	ck_assert_int_eq(smtp_test_result(&r, 2)->outcome, TRANSPORT_SENT);
	smtp_test_cleanup(&r, &srv, cfg, base);

	base = tu_mkdtemp();
	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	smtp_test_add_plain(&r, "zo\xc3\xab@example.net");
	smtp_test_add_plain(&r, "plain@example.net");
	smtp_test_run_all(&r, 20000);
	m = smtp_test_result(&r, 1);
	ck_assert_int_eq(m->outcome, TRANSPORT_FAIL);
	ck_assert(!m->rcpt_rejected);
	ck_assert_str_eq(m->reply,
	    "the relay does not offer SMTPUTF8, which the address "
	    "zo\xc3\xab@example.net needs (it has letters beyond ASCII)");
	ck_assert_int_eq(smtp_test_result(&r, 2)->outcome, TRANSPORT_SENT);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "MAIL"), 1);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "CONNECT"), 1);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* ------------------------------------------------ relays */

/* A server with a control file (tests/servers/smtp_server.py --control)
 * whose words break it while the file exists. */
static void
smtp_test_relay_start(struct smtp_test_server *srv, const char *base,
    const char *name, const char *faults, char **control)
{
	const char *extra[4];

	*control = xasprintf("%s/%s.control", base, name);
	if (faults != NULL)
		free(tu_write_file(base, strrchr(*control, '/') + 1, faults));
	extra[0] = "--control";
	extra[1] = *control;
	extra[2] = NULL;
	smtp_test_server_start(srv, base, name, extra);
}

static const char *
smtp_test_relay_of(struct smtp_test_run *r, int64_t id)
{
	struct transport_msg *m = smtp_test_result(r, id);

	ck_assert_msg(
	    m->outcome == TRANSPORT_SENT, "%lld: %s", (long long)id, m->reply);
	ck_assert_ptr_nonnull(m->relay);
	return m->relay;
}

static bool
smtp_test_first_relay_up(struct smtp_test_run *r)
{
	struct transport_relay info;

	ck_assert_int_eq(transport_relay_get(r->t, 0, &info), 0);
	return strcmp(info.state, "up") == 0;
}

/* The first relay refuses connections: the messages go by the second,
 * each recording it, at once; the first is probed with a backoff, not
 * tried by every message, and takes mail again once it recovers. */
START_TEST(test_smtp_relays_fail_over_when_the_first_refuses_connections)
{
	char *base = tu_mkdtemp(), *err, *ctl1, *ctl2;
	struct smtp_test_server one, two;
	struct smtp_test_run r;
	struct transport_relay info;
	struct cfg *cfg;

	smtp_test_relay_start(&one, base, "one", "refuse", &ctl1);
	smtp_test_relay_start(&two, base, "two", NULL, &ctl2);
	cfg = smtp_test_cfg(one.port, "smtp");
	cfg->smtp_connections = 2;
	smtp_test_cfg_add_relay(cfg, "second", two.port);
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	r.resubmit = true;
	for (int i = 0; i < 8; i++)
		smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_arm_watchdog(&r, 30000);
	smtp_test_run_until(&r, smtp_test_all_back, 20000);
	for (int64_t id = 1; id <= 8; id++)
		ck_assert_str_eq(smtp_test_relay_of(&r, id), "smtp.second");
	ck_assert_int_eq(smtp_test_count_messages(&two), 8);
	ck_assert_int_eq(smtp_test_count_messages(&one), 0);
	/* Two connections tried at once at most, not one per message. */
	ck_assert_int_le(smtp_test_count_commands(&one, "CONNECT"), 3);
	ck_assert_int_eq(transport_relay_get(r.t, 0, &info), 0);
	ck_assert_str_eq(info.name, "smtp");
	ck_assert_str_eq(info.state, "down");
	ck_assert_ptr_nonnull(strstr(r.relay_states, "smtp:down"));

	/* Mended: the probe finds it, and it takes the next mail. */
	ck_assert_int_eq(unlink(ctl1), 0);
	smtp_test_run_until(&r, smtp_test_first_relay_up, 10000);
	ck_assert_ptr_nonnull(strstr(r.relay_states, "smtp:up"));
	smtp_test_add_plain(&r, "later@example.net");
	smtp_test_run_until(&r, smtp_test_all_back, 10000);
	ck_assert_str_eq(smtp_test_relay_of(&r, 9), "smtp");
	ck_assert_int_eq(smtp_test_count_messages(&one), 1);
	smtp_test_close(&r);
	smtp_test_finish(&r);
	smtp_test_server_stop(&one);
	smtp_test_server_stop(&two);
	smtp_test_cfg_free(cfg);
	free(ctl1);
	free(ctl2);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* The first relay answers MAIL with 421 for a while (throttling): each
 * message refused goes by the second at once; when the first takes mail
 * again it is used again. Three relays: the first two refuse in
 * different ways, the third takes everything. */
START_TEST(test_smtp_relays_pass_over_a_throttling_relay_at_once)
{
	char *base = tu_mkdtemp(), *err, *ctl1, *ctl2, *ctl3;
	struct smtp_test_server one, two, three;
	struct smtp_test_run r;
	struct cfg *cfg;

	smtp_test_relay_start(&one, base, "one", "mail-421", &ctl1);
	smtp_test_relay_start(&two, base, "two", "rcpt-4.7.0", &ctl2);
	smtp_test_relay_start(&three, base, "three", NULL, &ctl3);
	cfg = smtp_test_cfg(one.port, "smtp");
	smtp_test_cfg_add_relay(cfg, "two", two.port);
	smtp_test_cfg_add_relay(cfg, "three", three.port);
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	r.resubmit = true;
	for (int i = 0; i < 6; i++)
		smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_arm_watchdog(&r, 30000);
	smtp_test_run_until(&r, smtp_test_all_back, 20000);
	for (int64_t id = 1; id <= 6; id++)
		ck_assert_str_eq(smtp_test_relay_of(&r, id), "smtp.three");
	ck_assert_uint_eq(r.n_handed_back, 0);
	ck_assert_int_eq(smtp_test_count_messages(&three), 6);
	ck_assert_ptr_nonnull(strstr(r.relay_states, "smtp:throttled"));
	ck_assert_ptr_nonnull(strstr(r.relay_states, "smtp.two:throttled"));
	/* Each throttled relay was tried once, not by every message. */
	ck_assert_int_eq(smtp_test_count_commands(&one, "MAIL"), 1);
	ck_assert_int_eq(smtp_test_count_commands(&two, "RCPT"), 1);

	/* The first takes mail again after its backoff. */
	ck_assert_int_eq(unlink(ctl1), 0);
	tu_sleep_ms((RELAY_BACKOFF_MIN + 1) * 1000);
	smtp_test_add_plain(&r, "later@example.net");
	smtp_test_run_until(&r, smtp_test_all_back, 10000);
	ck_assert_str_eq(smtp_test_relay_of(&r, 7), "smtp");
	smtp_test_close(&r);
	smtp_test_finish(&r);
	smtp_test_server_stop(&one);
	smtp_test_server_stop(&two);
	smtp_test_server_stop(&three);
	smtp_test_cfg_free(cfg);
	free(ctl1);
	free(ctl2);
	free(ctl3);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* The first relay's quota runs out: the rest go by the second. */
START_TEST(test_smtp_relays_move_on_when_a_quota_is_spent)
{
	char *base = tu_mkdtemp(), *err, *ctl1, *ctl2;
	struct smtp_test_server one, two;
	struct smtp_test_run r;
	struct transport_relay info;
	struct cfg *cfg;
	int by_first = 0;

	smtp_test_relay_start(&one, base, "one", NULL, &ctl1);
	smtp_test_relay_start(&two, base, "two", NULL, &ctl2);
	cfg = smtp_test_cfg(one.port, "smtp");
	cfg->smtp_quota.count = 3;
	cfg->smtp_quota.per_sec = 86400;
	smtp_test_cfg_add_relay(cfg, "second", two.port);
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	/* Two sent earlier today, before a restart. */
	transport_note_usage(r.t, "smtp", clock_now() - 3600, 2);
	for (int i = 0; i < 6; i++)
		smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_run_all(&r, 20000);
	for (int64_t id = 1; id <= 6; id++)
		by_first += strcmp(smtp_test_relay_of(&r, id), "smtp") == 0;
	ck_assert_int_eq(by_first, 1);
	ck_assert_int_eq(smtp_test_count_messages(&one), 1);
	ck_assert_int_eq(smtp_test_count_messages(&two), 5);
	ck_assert_ptr_nonnull(strstr(r.relay_states, "smtp:quota"));
	smtp_test_finish(&r);
	(void)info;
	smtp_test_server_stop(&one);
	smtp_test_server_stop(&two);
	smtp_test_cfg_free(cfg);
	free(ctl1);
	free(ctl2);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* With the only relay broken, messages come back untried, with the
 * relay's words and the time it is probed next, after one connection
 * per sender thread: the relay backs off, not each message. */
START_TEST(test_smtp_backs_off_at_a_broken_relay_not_per_message)
{
	char *base = tu_mkdtemp(), *err, *ctl;
	struct smtp_test_server one;
	struct smtp_test_run r;
	struct cfg *cfg;
	time_t now = clock_now();

	smtp_test_relay_start(&one, base, "one", "refuse", &ctl);
	cfg = smtp_test_cfg(one.port, "smtp");
	cfg->smtp_connections = 2;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (int i = 0; i < 20; i++)
		smtp_test_add_plain(&r, "reader@example.net");
	smtp_test_run_all(&r, 20000);
	for (int64_t id = 1; id <= 20; id++) {
		struct transport_msg *m = smtp_test_result(&r, id);

		ck_assert_int_eq(m->outcome, TRANSPORT_DEFER);
		ck_assert_msg(m->unsent, "%lld was tried", (long long)id);
		ck_assert_int_ge(m->retry_at, now + RELAY_BACKOFF_MIN);
	}
	ck_assert_int_le(smtp_test_count_commands(&one, "CONNECT"), 2);
	smtp_test_finish(&r);
	smtp_test_server_stop(&one);
	smtp_test_cfg_free(cfg);
	free(ctl);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* Booking mail is never queued behind bulk mail: with a rate limit
 * holding twenty digests back, a confirmation submitted after them goes
 * out next. */
START_TEST(test_smtp_sends_booking_mail_before_bulk_waiting_for_the_rate)
{
	char *base = tu_mkdtemp(), *err;
	struct smtp_test_server srv;
	struct smtp_test_run r;
	struct cfg *cfg;
	size_t at = 0;

	smtp_test_server_start(&srv, base, "srv", NULL);
	cfg = smtp_test_cfg(srv.port, "smtp");
	cfg->smtp_rate.count = 10;
	cfg->smtp_rate.per_sec = 1;
	ck_assert_ptr_nonnull(smtp_test_open(&r, cfg, &err));
	for (int i = 0; i < 20; i++) {
		smtp_test_add_plain(&r, "digest@example.net");
		r.todo[i]->bulk = true;
	}
	smtp_test_add_plain(&r, "booking@example.net");
	smtp_test_run_all(&r, 30000);
	for (size_t i = 0; i < r.n_got; i++)
		if (r.got[i]->id == 21)
			at = i;
	/* The burst of the bucket and what the thread had taken may go
	 * first; not the rest of the digest. */
	ck_assert_uint_le(at, 12);
	smtp_test_cleanup(&r, &srv, cfg, base);
}
END_TEST

/* ------------------------------------------------ the daemon */

static char *smtp_test_which(const char *name);

#define SMTP_TEST_NOW "2026-11-23T09:00:00Z"

/* A folder with a migrated database holding the end-to-end records
 * plus extra_sql, and a config that sends over smtp to port. */
static char *
smtp_test_daemon_dir(int port, int connections, const char *extra_sql)
{
	char *dir = tu_mkdtemp(), *smtp, *path, *sql;
	struct tu_config c = { .log_level = "info", .transport = "smtp" };
	sqlite3 *db;

	smtp = xasprintf("[smtp]\n"
			 "url = smtp://127.0.0.1:%d\n"
			 "tls = off\n"
			 "connections = %d\n"
			 "timeout = %ds\n"
			 "retry_initial = 10m\n",
	    port, connections, tu_timeout_ms(5000) / 1000);
	c.sections = smtp;
	free(tu_write_config(dir, "familymail.conf", &c));
	free(smtp);
	db = tu_db_new(dir);
	if (extra_sql == NULL) {
		path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
		sql = tu_read_file(path, NULL);
		ck_assert_ptr_nonnull(sql);
		tu_sql(db, sql);
		free(sql);
		free(path);
	} else {
		tu_sql(db, extra_sql);
	}
	db_close(db);
	return dir;
}

static int
smtp_test_daemon_once(const char *dir)
{
	char *conf = xasprintf("%s/familymail.conf", dir);
	char *log = xasprintf("%s/daemon.log", dir);
	int ret = tu_daemon_once(conf, SMTP_TEST_NOW, log, 30000);

	free(conf);
	free(log);
	return ret;
}

static sqlite3 *
smtp_test_daemon_db(const char *dir)
{
	char *path = xasprintf("%s/familymail.db", dir);
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	free(path);
	return db;
}

/* Column col of the message to rcpt, as text. */
static char *
smtp_test_column_of(sqlite3 *db, const char *col, const char *rcpt)
{
	char *sql = xasprintf(
	    "SELECT %s FROM messages WHERE recipient = '%s'", col, rcpt);
	char *s = tu_sql_text(db, sql);

	free(sql);
	return s;
}

/* The message the server recorded for rcpt (exactly one), as a whole
 * file: envelope lines, an empty line, then the data. */
static char *
smtp_test_recorded_for(const struct smtp_test_server *srv, const char *rcpt)
{
	char *want = xasprintf("\nrcpt %s\n", rcpt), *found = NULL;
	int n = smtp_test_count_messages(srv);

	for (int i = 1; i <= n; i++) {
		char *path = xasprintf("%s/msg-%06d", srv->dir, i);
		char *text = tu_read_file(path, NULL);

		ck_assert_ptr_nonnull(text);
		if (strstr(text, want) != NULL) {
			ck_assert_msg(found == NULL, "%s received twice", rcpt);
			found = text;
		} else {
			free(text);
		}
		free(path);
	}
	ck_assert_msg(found != NULL, "%s received nothing", rcpt);
	free(want);
	return found;
}

/* `familymail ARGS...` on dir's config; its output (caller frees). */
static char *
smtp_test_tool(const char *dir, const char *arg1, const char *arg2)
{
	char *tool = xasprintf("%s/src/familymail", tu_builddir());
	char *conf = xasprintf("%s/familymail.conf", dir);
	char *log = xasprintf("%s/tool.out", dir), *out;
	char *argv[] = { tool, (char *)"-c", conf, (char *)arg1, (char *)arg2,
		NULL };

	ck_assert_int_eq(tu_run_cmd(argv, log, 20000), 0);
	out = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(out);
	free(tool);
	free(conf);
	free(log);
	return out;
}

START_TEST(test_smtp_daemon_records_what_became_of_each_message)
{
	static const char extra[] =
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (11, 'reject-550@example.org', 'Rita'),"
	    " (12, 'defer-451@example.org', 'Dev'),"
	    " (13, 'data-554@example.org', 'Dan');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) VALUES"
	    " (11, 1, 11, 'FC-1011', 'confirmed', '2026-11-22T10:00:00Z'),"
	    " (12, 1, 12, 'FC-1012', 'confirmed', '2026-11-22T10:00:00Z'),"
	    " (13, 1, 13, 'FC-1013', 'confirmed', '2026-11-22T10:00:00Z');";
	struct smtp_test_server srv;
	char *base = tu_mkdtemp(), *dir, *text, *token, *s;
	sqlite3 *db;

	smtp_test_server_start(&srv, base, "srv", NULL);
	dir = smtp_test_daemon_dir(srv.port, 2, NULL);
	db = smtp_test_daemon_db(dir);
	tu_sql(db, extra);
	db_close(db);
	ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	db = smtp_test_daemon_db(dir);

	/* Delivered: envelope from the message's VERP address, and the
	 * confirmation the delegate should read. */
	ck_assert_int_eq(smtp_test_count_messages(&srv), 3);
	text = smtp_test_recorded_for(&srv, "sarah.jones@example.org");
	token =
	    smtp_test_column_of(db, "verp_token", "sarah.jones@example.org");
	ck_assert_uint_ge(strlen(token), 12);
	s = xasprintf("from bounces+%s@bounces.example.org\n", token);
	ck_assert_msg(strncmp(text, s, strlen(s)) == 0, "envelope: %s", text);
	free(s);
	ck_assert_ptr_nonnull(
	    strstr(text, "\r\nTo: Sarah Jones <sarah.jones@example.org>\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "\r\nFrom: Family Courses <courses@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nSubject: "));
	ck_assert_ptr_nonnull(strstr(text, "FC-1001"));
	ck_assert_ptr_nonnull(strstr(text, "Nurturing Programme"));
	ck_assert_ptr_null(strstr(text, "\nTo: Si"));
	free(text);
	free(token);
	text = smtp_test_recorded_for(&srv, "fatima@example.org");
	ck_assert_ptr_nonnull(strstr(text, "FC-1003"));
	free(text);
	free(smtp_test_recorded_for(&srv, "sian.llyr@example.org"));

	s = tu_sql_text(db,
	    "SELECT group_concat(recipient || ' ' || state || ' ' ||"
	    " attempts || ' ' || coalesce(smtp_code, '-'), ', ') FROM"
	    " (SELECT * FROM messages ORDER BY recipient)");
	ck_assert_str_eq(s,
	    "data-554@example.org failed 1 554, "
	    "defer-451@example.org queued 1 451, "
	    "fatima@example.org sent 1 250, "
	    "reject-550@example.org failed 1 550, "
	    "sarah.jones@example.org sent 1 250, "
	    "sian.llyr@example.org sent 1 250");
	free(s);
	/* The server's reply, with its queue id, is kept. */
	s = smtp_test_column_of(db, "smtp_reply", "sarah.jones@example.org");
	ck_assert_msg(
	    strncmp(s, "250 2.0.0 Ok: queued as TEST", 28) == 0, "%s", s);
	free(s);
	/* Deferred: retried after retry_initial, give or take a quarter. */
	ck_assert_int_eq(
	    tu_sql_int(db,
		"SELECT next_attempt_at BETWEEN"
		" '2026-11-23T09:07:30Z' AND '2026-11-23T09:12:31Z'"
		" FROM messages WHERE recipient = "
		"'defer-451@example.org'"),
	    1);
	/* The refused recipient is a hard bounce at once, suppressed; the
	 * message refused after its data is no bounce. */
	s = tu_sql_text(db,
	    "SELECT group_concat(b.recipient || ' ' || b.status || ' ' ||"
	    " b.class || ' ' || b.kind || ' ' || (b.message_id = m.id), ',')"
	    " FROM bounces b JOIN messages m ON m.recipient = b.recipient");
	ck_assert_str_eq(s, "reject-550@example.org 5.1.1 hard bounce 1");
	free(s);
	s = tu_sql_text(db, "SELECT email || ' ' || reason FROM suppressions");
	ck_assert_str_eq(s, "reject-550@example.org hard_bounce");
	free(s);
	db_close(db);

	/* What the administrator reads of them: `familymail history` shows
	 * the deferral with the relay's reply and the next try, and the
	 * failure with its reply. */
	text = smtp_test_tool(dir, "history", "defer-451@example.org");
	TU_HAS_LINE(text, "deferred", "booking_confirmation", "FC-1012",
	    "451 4.3.0", "next try");
	free(text);
	text = smtp_test_tool(dir, "history", "FC-1013");
	TU_HAS_LINE(text, "failed", "booking_confirmation", "554 5.7.1");
	free(text);

	/* Nothing is sent twice by a second run. */
	ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	ck_assert_int_eq(smtp_test_count_messages(&srv), 3);
	ck_assert_int_eq(smtp_test_count_commands(&srv, "RCPT"), 6);

	smtp_test_server_stop(&srv);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/*
 * Refusals at RCPT go through the bounce code's classifier and rules:
 * relaying refused by the relay is about our side and counts against
 * nobody, however often; a full mailbox is a soft bounce that counts
 * (soft_limit = 1 here); the verdicts are recorded with the command.
 */
START_TEST(test_smtp_daemon_refusals_count_against_the_recipient_only)
{
	static const char extra[] =
	    "INSERT INTO delegates (id, email, first_name) VALUES"
	    " (21, 'relay-554@example.org', 'Rhian'),"
	    " (22, 'full-552@example.org', 'Fflur');"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) VALUES"
	    " (21, 1, 21, 'FC-1021', 'confirmed', '2026-11-22T10:00:00Z'),"
	    " (22, 1, 22, 'FC-1022', 'confirmed', '2026-11-22T10:00:00Z');";
	struct smtp_test_server srv;
	char *base = tu_mkdtemp(), *dir, *s, *conf, *text;
	sqlite3 *db;

	smtp_test_server_start(&srv, base, "srv", NULL);
	dir = smtp_test_daemon_dir(srv.port, 1, NULL);
	conf = xasprintf("%s/familymail.conf", dir);
	s = tu_read_file(conf, NULL);
	ck_assert_ptr_nonnull(s);
	text = xasprintf("%s\n[bounces]\nsoft_limit = 1\n", s);
	free(s);
	free(tu_write_file(dir, "familymail.conf", text));
	free(text);
	db = smtp_test_daemon_db(dir);
	tu_sql(db, extra);
	db_close(db);
	ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	db = smtp_test_daemon_db(dir);
	s = tu_sql_text(db,
	    "SELECT group_concat(recipient || ' ' || class || ' ' || reason"
	    " || ' ' || sender_side || ' ' || command, ', ') FROM"
	    " (SELECT * FROM bounces ORDER BY recipient)");
	ck_assert_str_eq(s,
	    "full-552@example.org soft mailboxfull 0 rcpt, "
	    "relay-554@example.org soft norelaying 1 rcpt");
	free(s);
	s = tu_sql_text(db,
	    "SELECT group_concat(email || ' ' || reason)"
	    " FROM suppressions");
	ck_assert_str_eq(s, "full-552@example.org soft_bounces");
	free(s);
	db_close(db);
	smtp_test_server_stop(&srv);
	free(conf);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* Postfix's smtp-sink: another server than ours, and what libcurl meets
 * in production. Skipped (with a message) when postfix is missing. */
START_TEST(test_smtp_daemon_delivers_into_postfix_smtp_sink)
{
	char *sink = smtp_test_which("smtp-sink"), *base, *dir, *dump, *tmpl;
	char *port_s, *argv[12], *s, *all;
	struct dirent *de;
	struct buf b;
	sqlite3 *db;
	int pid, port, n = 0, waited;
	DIR *d;

	if (sink == NULL && access("/usr/sbin/smtp-sink", X_OK) == 0)
		sink = xstrdup("/usr/sbin/smtp-sink");
	if (sink == NULL) {
		printf("check_smtp: SKIP smtp-sink test: postfix's smtp-sink "
		       "not installed (contrib/install-deps.sh --tests)\n");
		return;
	}
	base = tu_mkdtemp();
	dump = xasprintf("%s/dump", base);
	ck_assert_int_eq(mkdir(dump, 0777), 0);
	/* smtp-sink drops root privileges to -u's user, who writes here. */
	ck_assert_int_eq(chmod(dump, 0777), 0);
	chmod(base, 0755);
	tmpl = xasprintf("%s/m.", dump);
	port = 0;
	for (int attempt = 0; port == 0 && attempt < 5; attempt++) {
		int candidate = tu_free_port();
		size_t k = 0;
		char *log = xasprintf("%s/sink.log", base);

		port_s = xasprintf("127.0.0.1:%d", candidate);
		argv[k++] = sink;
		if (geteuid() == 0) {
			argv[k++] = (char *)"-u";
			argv[k++] = (char *)"nobody";
		}
		argv[k++] = (char *)"-d";
		argv[k++] = tmpl;
		argv[k++] = port_s;
		argv[k++] = (char *)"64";
		argv[k] = NULL;
		pid = tu_spawn(argv, log);
		/* Started once it listens; gone, if the port was taken. */
		if (tu_wait_listening(candidate, &pid, 5000)) {
			port = candidate;
		} else if (pid != 0) {
			kill(pid, SIGTERM);
			(void)tu_wait(pid, 5000);
		}
		free(port_s);
		free(log);
	}
	ck_assert_msg(port != 0, "smtp-sink did not start");

	dir = smtp_test_daemon_dir(port, 2, NULL);
	ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	db = smtp_test_daemon_db(dir);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE state ="
			     " 'sent' AND smtp_code = 250"),
	    3);

	buf_init(&b);
	for (waited = 0; waited < 5000; waited += 50) {
		n = tu_count_files(dump);
		if (n >= 3)
			break;
		tu_sleep_ms(50);
	}
	ck_assert_int_eq(n, 3);
	d = opendir(dump);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char *p, *t;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dump, de->d_name);
		t = tu_read_file(p, NULL);
		ck_assert_ptr_nonnull(t);
		buf_printf(&b, "%s\n", t);
		free(t);
		free(p);
	}
	closedir(d);
	all = buf_take(&b);
	s = tu_sql_text(db,
	    "SELECT group_concat('X-Mail-Args: <bounces+' || verp_token ||"
	    " '@bounces.example.org>', '|') FROM messages");
	for (char *tok = s, *bar; tok != NULL; tok = bar) {
		bar = strchr(tok, '|');
		if (bar != NULL)
			*bar++ = '\0';
		ck_assert_msg(strstr(all, tok) != NULL, "no %s", tok);
	}
	free(s);
	ck_assert_ptr_nonnull(
	    strstr(all, "X-Rcpt-Args: <sarah.jones@example.org>"));
	ck_assert_ptr_nonnull(
	    strstr(all, "To: Sarah Jones <sarah.jones@example.org>"));
	ck_assert_ptr_nonnull(strstr(all, "FC-1002"));
	free(all);
	db_close(db);

	kill(pid, SIGTERM);
	tu_wait(pid, 5000);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
	free(dump);
	free(tmpl);
	free(sink);
}
END_TEST

/* How many sent-log files of the daemon's database are in dir. */
static int
smtp_test_count_sent_logs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "familymail.db-sent-", 19) == 0;
	closedir(d);
	return n;
}

/* kill -9 in the middle of a queue of 3000: after a restart every
 * message has arrived, at most one duplicate per connection, and the
 * table says all were sent. The acceptances not yet committed at the
 * kill are in the sent log, read at the restart, which then leaves no
 * log behind. */
static void
smtp_test_killed_mid_queue(bool pipelining)
{
	enum {
		TOTAL = 3000,
		CONNS = 4
	};
	static const char sql[] =
	    "INSERT INTO courses (id, title, starts_at, venue, status) VALUES"
	    " (1, 'Facilitator Training', '2027-03-01T09:30:00Z', 'Cardiff',"
	    " 'scheduled');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 3000)"
	    " INSERT INTO delegates (id, email, first_name)"
	    " SELECT i, 'delegate' || i || '@example.org', 'D' || i FROM n;"
	    "INSERT INTO bookings (id, course_id, delegate_id, reference,"
	    " status, created_at) SELECT id, 1, id, 'FC-' || (10000 + id),"
	    " 'confirmed', '2026-11-22T10:00:00Z' FROM delegates;";
	struct smtp_test_server srv;
	char *base = tu_mkdtemp(), *dir, *daemon, *conf, *log;
	unsigned char *seen = xcalloc(TOTAL + 1, 1);
	int pid, before = 0, got = 0, dupes = 0;
	sqlite3 *db;

	const char *extra[16];

	smtp_test_server_start(
	    &srv, base, "srv", smtp_test_extra(NULL, pipelining, extra));
	dir = smtp_test_daemon_dir(srv.port, CONNS, sql);
	daemon = xasprintf("%s/src/familymaild", tu_builddir());
	conf = xasprintf("%s/familymail.conf", dir);
	log = xasprintf("%s/daemon-killed.log", dir);
	{
		char *argv[] = { daemon, (char *)"-c", conf, (char *)"-f",
			(char *)"--now", (char *)SMTP_TEST_NOW, NULL };

		pid = tu_spawn(argv, log);
	}
	for (int waited = 0; waited < tu_timeout_ms(20000); waited += 10) {
		before = smtp_test_count_messages(&srv);
		if (before >= TOTAL / 3)
			break;
		tu_sleep_ms(10);
	}
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(tu_wait(pid, 5000), 128 + SIGKILL);
	ck_assert_msg(before >= TOTAL / 3 && before < TOTAL,
	    "killed after %d messages", before);
	ck_assert_int_gt(smtp_test_count_sent_logs(dir), 0);

	db = smtp_test_daemon_db(dir);
	ck_assert_int_gt(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE state ="
			     " 'queued' OR state = 'sending'"),
	    0);
	db_close(db);
	ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	/* On a loaded machine a reply can pass the 5 s timeout, and that
	 * message waits for its retry (deferred, not lost): bring such
	 * retries forward, as `familymail retry` would, a few times. */
	for (int round = 0; round < 3; round++) {
		long long waiting;

		db = smtp_test_daemon_db(dir);
		waiting = tu_sql_int(
		    db, "SELECT count(*) FROM messages WHERE state = 'queued'");
		if (waiting > 0)
			tu_sql(db,
			    "UPDATE messages SET next_attempt_at = '" SMTP_TEST_NOW
			    "' WHERE state = 'queued'");
		db_close(db);
		if (waiting == 0)
			break;
		ck_assert_int_eq(smtp_test_daemon_once(dir), 0);
	}

	got = smtp_test_count_messages(&srv);
	for (int i = 1; i <= got; i++) {
		char *path = xasprintf("%s/msg-%06d", srv.dir, i);
		char *text = tu_read_file(path, NULL), *r;
		long id;

		ck_assert_ptr_nonnull(text);
		r = strstr(text, "\nrcpt delegate");
		ck_assert_ptr_nonnull(r);
		r += strlen("\nrcpt delegate");
		r[strcspn(r, "@")] = '\0';
		ck_assert_int_eq(util_parse_long(r, 1, TOTAL, &id), 0);
		if (seen[id]++ > 0)
			dupes++;
		free(text);
		free(path);
	}
	db = smtp_test_daemon_db(dir);
	for (int i = 1; i <= TOTAL; i++) {
		char *q, *state;

		if (seen[i] > 0)
			continue;
		q = xasprintf("SELECT state || ' attempts=' || attempts ||"
			      " ' error=' || coalesce(last_error, '-')"
			      " FROM messages WHERE recipient ="
			      " 'delegate%d@example.org'",
		    i);
		state = tu_sql_text(db, q);
		ck_abort_msg("delegate%d received nothing: %s", i, state);
	}
	db_close(db);
	ck_assert_int_eq(got, TOTAL + dupes);
	ck_assert_msg(dupes <= CONNS, "%d duplicates", dupes);
	db = smtp_test_daemon_db(dir);
	ck_assert_int_eq(tu_sql_int(db,
			     "SELECT count(*) FROM messages WHERE state ="
			     " 'sent'"),
	    TOTAL);
	db_close(db);
	ck_assert_int_eq(smtp_test_count_sent_logs(dir), 0);

	smtp_test_server_stop(&srv);
	free(seen);
	free(daemon);
	free(conf);
	free(log);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}

START_TEST(test_smtp_daemon_killed_mid_queue_loses_nothing)
{
	smtp_test_killed_mid_queue(false);
}
END_TEST

START_TEST(test_smtp_daemon_killed_mid_pipelined_queue_loses_nothing)
{
	smtp_test_killed_mid_queue(true);
}
END_TEST

/* ------------------------------------------------ set-up */

static char *
smtp_test_which(const char *name)
{
	const char *p = getenv("PATH");
	char *full;
	size_t n;

	while (p != NULL && *p != '\0') {
		n = strcspn(p, ":");
		full = xasprintf("%.*s/%s", (int)n, p, name);
		if (n > 0 && access(full, X_OK) == 0)
			return full;
		free(full);
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* The first python3 that can import aiosmtpd: $PYTHON3, Debian's, then
 * the one on PATH. Newly allocated, or NULL. */
static char *
smtp_test_find_python(void)
{
	char *on_path = smtp_test_which("python3"), *found = NULL;
	const char *candidates[] = { getenv("PYTHON3"), "/usr/bin/python3",
		on_path };
	char *argv[4];

	for (size_t i = 0; found == NULL && i < 3; i++) {
		if (candidates[i] == NULL || access(candidates[i], X_OK) != 0)
			continue;
		argv[0] = (char *)candidates[i];
		argv[1] = "-c";
		argv[2] = "import aiosmtpd.smtp";
		argv[3] = NULL;
		if (tu_run_cmd(argv, "/dev/null", 30000) == 0)
			found = xstrdup(candidates[i]);
	}
	free(on_path);
	return found;
}

/* A throwaway CA, a server certificate it signs (for localhost and
 * 127.0.0.1) and a self-signed "rogue" one, for these tests only. */
static char *
smtp_test_make_certs(void)
{
	char *openssl = smtp_test_which("openssl"), *dir, *ext, *log;
	char *ca_key, *ca_pem, *srv_key, *srv_csr, *srv_pem, *rg_key, *rg_pem;
	bool ok = true;

	if (openssl == NULL)
		return NULL;
	dir = tu_mkdtemp();
	log = xasprintf("%s/openssl.log", dir);
	ext = tu_write_file(dir, "server.ext",
	    "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	    "basicConstraints=CA:FALSE\n"
	    "keyUsage=critical,digitalSignature\n"
	    "extendedKeyUsage=serverAuth\n");
	ca_key = xasprintf("%s/ca.key", dir);
	ca_pem = xasprintf("%s/ca.pem", dir);
	srv_key = xasprintf("%s/server.key", dir);
	srv_csr = xasprintf("%s/server.csr", dir);
	srv_pem = xasprintf("%s/server.pem", dir);
	rg_key = xasprintf("%s/rogue.key", dir);
	rg_pem = xasprintf("%s/rogue.pem", dir);
	{
		char *const ca[] = { openssl, "req", "-x509", "-new", "-newkey",
			"ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
			"-nodes", "-keyout", ca_key, "-out", ca_pem, "-days",
			"2", "-subj", "/CN=familymail test CA", "-addext",
			"basicConstraints=critical,CA:TRUE", "-addext",
			"keyUsage=critical,keyCertSign,cRLSign", NULL };
		char *const csr[] = { openssl, "req", "-new", "-newkey", "ec",
			"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			"-keyout", srv_key, "-out", srv_csr, "-subj",
			"/CN=localhost", NULL };
		char *const sign[] = { openssl, "x509", "-req", "-in", srv_csr,
			"-CA", ca_pem, "-CAkey", ca_key, "-set_serial", "2",
			"-days", "2", "-extfile", ext, "-out", srv_pem, NULL };
		char *const rogue[] = { openssl, "req", "-x509", "-new",
			"-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
			rg_key, "-out", rg_pem, "-days", "2", "-subj",
			"/CN=localhost", "-addext",
			"subjectAltName=DNS:localhost,IP:127.0.0.1", NULL };
		char *const *cmds[] = { ca, csr, sign, rogue };

		for (size_t i = 0; ok && i < UTIL_ARRAY_LEN(cmds); i++)
			ok = tu_run_cmd(cmds[i], log, 30000) == 0;
	}
	if (!ok) {
		fprintf(stderr, "check_smtp: openssl failed, see %s\n", log);
		free(dir);
		dir = NULL;
	}
	free(ext);
	free(log);
	free(ca_key);
	free(ca_pem);
	free(srv_key);
	free(srv_csr);
	free(srv_pem);
	free(rg_key);
	free(rg_pem);
	free(openssl);
	return dir;
}

/* ------------------------------------------------ relays, end to end */

/* A folder with a migrated database holding sql and a config whose
 * transport is the relays relays_conf describes ("[smtp]\n..."). */
static char *
smtp_test_relays_dir(const char *relays_conf, const char *sql)
{
	char *dir = tu_mkdtemp();
	struct tu_config c = { .log_level = "info",
		.reply_to = "",
		.transport = "smtp",
		.sections = relays_conf };
	sqlite3 *db;

	free(tu_write_config(dir, "familymail.conf", &c));
	db = tu_db_new(dir);
	tu_sql(db, sql);
	db_close(db);
	return dir;
}

/* Course 1 and n confirmed bookings of it, made at created, for
 * delegates first..first+n-1 (delegateN@example.org). */
static void
smtp_test_add_bookings(const char *dir, int first, int n, const char *created)
{
	char *path = xasprintf("%s/familymail.db", dir), *sql;
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db,
	    "INSERT OR IGNORE INTO courses (id, title, starts_at, venue,"
	    " status) VALUES (1, 'Facilitator Training',"
	    " '2026-12-03T09:30:00Z', 'Cardiff', 'scheduled')");
	for (int i = first; i < first + n; i++) {
		sql = xasprintf(
		    "INSERT INTO delegates (id, email, first_name) VALUES"
		    " (%d, 'delegate%d@example.org', 'Dee');"
		    "INSERT INTO bookings (id, course_id, delegate_id,"
		    " reference, status, created_at) VALUES (%d, 1, %d,"
		    " 'FC-%d', 'confirmed', '%s')",
		    i, i, i, i, i, created);
		tu_sql(db, sql);
		free(sql);
	}
	db_close(db);
	free(path);
}

static int
smtp_test_daemon_once_at(const char *dir, const char *now)
{
	char *conf = xasprintf("%s/familymail.conf", dir);
	char *log = xasprintf("%s/daemon.log", dir);
	int ret = tu_daemon_once(conf, now, log, 30000);

	free(conf);
	free(log);
	return ret;
}

static char *
smtp_test_relay_counts(const char *dir)
{
	char *path = xasprintf("%s/familymail.db", dir);
	char *s = tu_db_text(path,
	    "SELECT group_concat(relay || ' ' || n, ', ') FROM (SELECT"
	    " coalesce(relay, '-') AS relay, count(*) AS n FROM messages"
	    " WHERE state = 'sent' GROUP BY 1 ORDER BY 1)");

	free(path);
	return s;
}

/* The first relay's quota of 3 a day runs out half way: the rest go by
 * the second, each message recording its relay; later that day the
 * first is still spent; the next day (--now moves the clock) it takes
 * mail again, its usage remembered across runs. */
START_TEST(test_smtp_daemon_spends_a_daily_quota_then_fails_over)
{
	struct smtp_test_server one, two;
	char *base = tu_mkdtemp(), *ctl1, *ctl2, *conf, *dir, *s;
	json_t *st, *relays;

	smtp_test_relay_start(&one, base, "one", NULL, &ctl1);
	smtp_test_relay_start(&two, base, "two", NULL, &ctl2);
	conf = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\ntls = off\n"
			 "connections = 1\nquota = 3/d\n"
			 "\n[smtp.backup]\nurl = smtp://127.0.0.1:%d\n"
			 "tls = off\nconnections = 1\n",
	    one.port, two.port);
	dir = smtp_test_relays_dir(conf, "SELECT 1");
	smtp_test_add_bookings(dir, 100, 8, "2026-11-23T08:00:00Z");
	ck_assert_int_eq(smtp_test_daemon_once_at(dir, SMTP_TEST_NOW), 0);
	s = smtp_test_relay_counts(dir);
	ck_assert_str_eq(s, "smtp 3, smtp.backup 5");
	free(s);
	ck_assert_int_eq(smtp_test_count_messages(&one), 3);
	ck_assert_int_eq(smtp_test_count_messages(&two), 5);

	/* status shows the spent quota. */
	s = smtp_test_tool(dir, "status", "--json");
	st = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(st);
	relays = json_object_get(st, "relays");
	ck_assert_int_eq(json_array_size(relays), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(relays, 0), "state")),
	    "quota");
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_array_get(relays, 0), "quota_left")),
	    0);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(relays, 1), "relay")),
	    "smtp.backup");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(relays, 1), "state")),
	    "up");
	json_decref(st);
	free(s);
	s = smtp_test_tool(dir, "status", NULL);
	ck_assert_msg(strstr(s, "smtp          quota") != NULL ||
		strstr(s, "quota  ") != NULL,
	    "%s", s);
	ck_assert_msg(strstr(s, "0 of 3/d") != NULL, "%s", s);
	free(s);

	/* An hour later, the quota is still spent. */
	smtp_test_add_bookings(dir, 200, 2, "2026-11-23T09:30:00Z");
	ck_assert_int_eq(
	    smtp_test_daemon_once_at(dir, "2026-11-23T10:00:00Z"), 0);
	s = smtp_test_relay_counts(dir);
	ck_assert_str_eq(s, "smtp 3, smtp.backup 7");
	free(s);

	/* The next day it is the first relay's again. */
	smtp_test_add_bookings(dir, 300, 2, "2026-11-24T09:00:00Z");
	ck_assert_int_eq(
	    smtp_test_daemon_once_at(dir, "2026-11-24T09:30:00Z"), 0);
	s = smtp_test_relay_counts(dir);
	ck_assert_str_eq(s, "smtp 5, smtp.backup 7");
	free(s);

	smtp_test_server_stop(&one);
	smtp_test_server_stop(&two);
	free(ctl1);
	free(ctl2);
	free(conf);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* The first relay refuses connections: everything goes by the backup,
 * and status says why the first is down. */
START_TEST(test_smtp_daemon_fails_over_to_the_backup_relay)
{
	struct smtp_test_server one, two;
	char *base = tu_mkdtemp(), *ctl1, *ctl2, *conf, *dir, *s;

	smtp_test_relay_start(&one, base, "one", "refuse", &ctl1);
	smtp_test_relay_start(&two, base, "two", NULL, &ctl2);
	conf = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\ntls = off\n"
			 "\n[smtp.backup]\nurl = smtp://127.0.0.1:%d\n"
			 "tls = off\n",
	    one.port, two.port);
	dir = smtp_test_relays_dir(conf, "SELECT 1");
	smtp_test_add_bookings(dir, 100, 5, "2026-11-23T08:00:00Z");
	ck_assert_int_eq(smtp_test_daemon_once_at(dir, SMTP_TEST_NOW), 0);
	s = smtp_test_relay_counts(dir);
	ck_assert_str_eq(s, "smtp.backup 5");
	free(s);
	ck_assert_int_le(smtp_test_count_commands(&one, "CONNECT"), 5);
	s = smtp_test_tool(dir, "status", NULL);
	ck_assert_msg(strstr(s, "relay smtp down since") != NULL, "%s", s);
	free(s);
	smtp_test_server_stop(&one);
	smtp_test_server_stop(&two);
	free(ctl1);
	free(ctl2);
	free(conf);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* Waits up to ms for sql on dir's database to give want. */
static bool
smtp_test_wait_db(const char *dir, const char *sql, long long want, int ms)
{
	char *path = xasprintf("%s/familymail.db", dir);
	bool ok = false;

	for (int waited = 0; waited < tu_timeout_ms(ms) && !ok; waited += 50) {
		ok = tu_db_int(path, sql) == want;
		if (!ok)
			tu_sleep_ms(50);
	}
	free(path);
	return ok;
}

static int
smtp_test_daemon_spawn(const char *dir)
{
	char *daemon = xasprintf("%s/src/familymaild", tu_builddir());
	char *conf = xasprintf("%s/familymail.conf", dir);
	char *log = xasprintf("%s/daemon.log", dir);
	char *argv[] = { daemon, (char *)"-c", conf, (char *)"-f",
		(char *)"--now", (char *)SMTP_TEST_NOW, NULL };
	int pid = tu_spawn(argv, log);

	free(daemon);
	free(conf);
	free(log);
	return pid;
}

static int
smtp_test_count_in_file(const char *path, const char *needle)
{
	char *text = tu_read_file(path, NULL);
	int n = 0;

	for (char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

/*
 * A relay that answers 550 5.7.515 (Microsoft 365: our domain does not
 * authenticate) to every RCPT: the refusal is about us, so the lane is
 * paused with one loud line, a metric and a status line naming the
 * cause; nothing is suppressed, nothing fails, no attempt is spent; the
 * relay is probed, and once it is fixed the mail goes.
 */
START_TEST(test_smtp_daemon_pauses_on_a_refusal_about_our_side)
{
	struct smtp_test_server one;
	char *base = tu_mkdtemp(), *ctl, *conf, *dir, *s, *log, *path;
	struct buf metrics;
	sqlite3 *db;
	int pid;

	smtp_test_relay_start(&one, base, "one", "rcpt-5.7.515", &ctl);
	conf = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\ntls = off\n"
			 "connections = 1\n",
	    one.port);
	dir = smtp_test_relays_dir(conf, "SELECT 1");
	log = xasprintf("%s/daemon.log", dir);
	smtp_test_add_bookings(dir, 100, 3, "2026-11-23T08:00:00Z");
	pid = smtp_test_daemon_spawn(dir);
	ck_assert_msg(smtp_test_wait_db(dir,
			  "SELECT count(*) FROM relays WHERE name = 'smtp'"
			  " AND state = 'paused' AND lanes = 'booking'",
			  1, 15000),
	    "never paused");
	/* Waiting, not failed, not suppressed, no attempt spent. */
	ck_assert(smtp_test_wait_db(dir,
	    "SELECT count(*) FROM messages WHERE state = 'queued'"
	    " AND attempts = 0",
	    3, 5000));
	path = xasprintf("%s/familymail.db", dir);
	ck_assert_int_eq(
	    tu_db_int(path, "SELECT count(*) FROM suppressions"), 0);
	ck_assert_int_eq(tu_db_int(path,
			     "SELECT count(*) FROM bounces WHERE"
			     " sender_side = 0"),
	    0);
	s = smtp_test_tool(dir, "status", NULL);
	ck_assert_msg(
	    strstr(s, "relay smtp paused for booking mail since") != NULL, "%s",
	    s);
	ck_assert_msg(strstr(s, "550 5.7.515") != NULL, "%s", s);
	free(s);
	ck_assert_int_eq(db_open(path, false, &db), 0);
	buf_init(&metrics);
	ck_assert_int_eq(relay_store_metrics(db, clock_now(), &metrics), 0);
	ck_assert_msg(strstr(metrics.data,
			  "familymail_relay_paused{relay=\"smtp\","
			  "lane=\"booking\",cause=\"") != NULL,
	    "%s", metrics.data);
	ck_assert_ptr_nonnull(strstr(metrics.data,
	    "familymail_relay_state{relay=\"smtp\",state=\"paused\"} 1"));
	buf_fini(&metrics);
	db_close(db);
	ck_assert_int_eq(
	    smtp_test_count_in_file(log, "smtp relay smtp paused"), 1);

	/* Fixed: the next probe goes through, and so does the rest. */
	ck_assert_int_eq(unlink(ctl), 0);
	ck_assert_msg(
	    smtp_test_wait_db(dir,
		"SELECT count(*) FROM messages WHERE state = 'sent'", 3, 20000),
	    "not all sent after the fix");
	ck_assert(smtp_test_wait_db(
	    dir, "SELECT count(*) FROM relays WHERE state = 'up'", 1, 5000));
	ck_assert_int_eq(
	    tu_db_int(path, "SELECT count(*) FROM suppressions"), 0);
	ck_assert_int_eq(
	    tu_db_int(path, "SELECT count(*) FROM messages WHERE attempts > 1"),
	    0);
	ck_assert_int_eq(
	    smtp_test_count_in_file(log, "smtp relay smtp up again"), 1);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 20000), 0);
	smtp_test_server_stop(&one);
	free(ctl);
	free(conf);
	free(log);
	free(path);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* The number of the server's file holding the message to rcpt, or 0. */
static int
smtp_test_position_of(const struct smtp_test_server *srv, const char *rcpt)
{
	char *want = xasprintf("\nrcpt %s\n", rcpt);
	int n = smtp_test_count_messages(srv), at = 0;

	for (int i = n; i >= 1 && at == 0; i--) {
		char *p = xasprintf("%s/msg-%06d", srv->dir, i);
		char *text = tu_read_file(p, NULL);

		if (text != NULL && strstr(text, want) != NULL)
			at = i;
		free(text);
		free(p);
	}
	free(want);
	return at;
}

/*
 * A booking made while a digest of 400 goes out through a relay limited
 * to 40 messages a second: its confirmation is sent next, before the
 * rest of the digest, not after it.
 */
START_TEST(test_smtp_daemon_sends_a_confirmation_before_the_rest_of_a_digest)
{
	static const char digest[] =
	    "INSERT INTO posts (title, url, summary, published_at) VALUES"
	    " ('Play', 'https://blog.example.org/play', 'Ten minutes.',"
	    "  '2026-11-20T10:00:00Z');"
	    "INSERT INTO digests (frequency, period, scheduled_at, since,"
	    " until, post_count, state, created_at) VALUES"
	    " ('weekly', '2026-W48', '2026-11-23T08:00:00Z',"
	    "  '2026-11-16T08:00:00Z', '2026-11-23T08:00:00Z', 1,"
	    "  'enqueued', '2026-11-23T08:00:00Z'),"
	    " ('monthly', '2026-11', '2026-11-01T08:00:00Z',"
	    "  '2026-10-01T08:00:00Z', '2026-11-01T08:00:00Z', 0,"
	    "  'enqueued', '2026-11-01T08:00:00Z');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < 400)"
	    " INSERT INTO subscribers (email, name, status, frequency,"
	    " created_at) SELECT 'reader' || i || '@example.net', 'Reader',"
	    " 'active', 'weekly', '2026-01-01T00:00:00Z' FROM n;"
	    "INSERT INTO messages (dedupe_key, kind, recipient, subscriber_id,"
	    " detail, created_at, next_attempt_at, updated_at)"
	    " SELECT 'digest:weekly:2026-W48:subscriber:' || id,"
	    " 'blog_digest', email, id, 'weekly:2026-W48',"
	    " '2026-11-23T08:00:00Z', '2026-11-23T08:00:00Z',"
	    " '2026-11-23T08:00:00Z' FROM subscribers;"
	    "INSERT INTO courses (id, title, starts_at, venue, status) VALUES"
	    " (1, 'Facilitator Training', '2026-12-03T09:30:00Z', 'Cardiff',"
	    "  'scheduled');";
	struct smtp_test_server srv;
	char *base = tu_mkdtemp(), *conf, *dir, *path;
	int pid, before = 0, at;

	smtp_test_server_start(&srv, base, "srv", NULL);
	conf = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\ntls = off\n"
			 "connections = 2\nrate = 40/s\n"
			 "\n[unsubscribe]\n"
			 "url = https://example.org/u?token={token}\n"
			 "secret_file = secret\n"
			 "\n[http]\nlisten = 127.0.0.1:%d\n",
	    srv.port, tu_free_port());
	dir = smtp_test_relays_dir(conf, digest);
	path = tu_write_file(dir, "secret",
	    "0123456789abcdef0123456789abcdef0123456789abcdef\n");
	ck_assert_int_eq(chmod(path, 0600), 0);
	free(path);
	path = xasprintf("%s/familymail.db", dir);
	pid = smtp_test_daemon_spawn(dir);
	for (int w = 0;
	     w < tu_timeout_ms(20000) && smtp_test_count_messages(&srv) < 40;
	     w += 20)
		tu_sleep_ms(20);
	ck_assert_int_ge(smtp_test_count_messages(&srv), 40);
	smtp_test_add_bookings(dir, 900, 1, "2026-11-23T09:00:00Z");
	for (int w = 0; w < tu_timeout_ms(10000) && before == 0; w += 10) {
		if (tu_db_int(path,
			"SELECT count(*) FROM messages"
			" WHERE kind = 'booking_confirmation'") > 0)
			before = smtp_test_count_messages(&srv);
		else
			tu_sleep_ms(10);
	}
	ck_assert_msg(before > 0, "the confirmation was never queued");
	ck_assert_msg(smtp_test_wait_db(dir,
			  "SELECT count(*) FROM messages WHERE"
			  " kind = 'booking_confirmation' AND state = 'sent'",
			  1, 10000),
	    "the confirmation was never sent");
	at = smtp_test_position_of(&srv, "delegate900@example.org");
	ck_assert_int_gt(at, 0);
	/* Next, give or take what was already on its way. */
	ck_assert_msg(
	    at - before <= 12, "queued at %d, sent as %d", before, at);
	ck_assert_msg(tu_db_int(path,
			  "SELECT count(*) FROM messages WHERE"
			  " kind = 'blog_digest' AND state != 'sent'") > 100,
	    "the digest was nearly done: proves nothing");
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 30000), 0);
	smtp_test_server_stop(&srv);
	free(conf);
	free(path);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
}
END_TEST

/* ------------------------------------------------ a real strict MTA */

/* Exim, Debian's, unpacked under the build folder (exim_unpack.sh), run
 * on a loopback port as the relay: strict about synchronisation, about
 * the EHLO name (a bare host name is refused), and about how many
 * messages a connection may carry. NULL with *why when it cannot run
 * here (the test is then skipped, saying so). */
struct smtp_test_exim {
	int pid;
	int port;
	char *dir;
	char *mainlog;
};

static const char *smtp_test_nss_wrapper =
    "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so";

static char *
smtp_test_exim_root(const char **why)
{
	char *root = xasprintf("%s/tests/exim-root", tu_builddir());
	char *exim = xasprintf("%s/usr/sbin/exim4", root);
	char *script, *log;
	char *argv[4];

	if (access(exim, X_OK) != 0) {
		script =
		    xasprintf("%s/tests/servers/exim_unpack.sh", tu_srcdir());
		log = xasprintf("%s/tests/exim-unpack.log", tu_builddir());
		argv[0] = (char *)"/bin/sh";
		argv[1] = script;
		argv[2] = root;
		argv[3] = NULL;
		(void)tu_run_cmd(argv, log, 120000);
		free(script);
		free(log);
	}
	if (access(exim, X_OK) != 0) {
		*why =
		    "Debian's exim4-daemon-light could not be downloaded and "
		    "unpacked (tests/servers/exim_unpack.sh)";
		free(root);
		root = NULL;
	} else if (access(smtp_test_nss_wrapper, R_OK) != 0) {
		*why = "libnss-wrapper is missing (contrib/install-deps.sh "
		       "--tests): Exim needs its user Debian-exim";
		free(root);
		root = NULL;
	}
	free(exim);
	return root;
}

/* Exim's settings for TLS ("starttls" or "smtps", with the test CA's
 * server certificate, copied where its user can read it) and AUTH
 * PLAIN over TLS only, refusing mail from a client that did not
 * authenticate; "" for neither. */
static char *
smtp_test_exim_tls(const char *dir, const char *tls, int port, unsigned uid)
{
	char *pem, *key, *text;

	if (tls == NULL)
		return xstrdup("tls_advertise_hosts =\n");
	for (int i = 0; i < 2; i++) {
		char *from = xasprintf(
		    "%s/server.%s", smtp_test_tls_dir, i == 0 ? "pem" : "key");
		char *data = tu_read_file(from, NULL), *to;

		ck_assert_ptr_nonnull(data);
		to = tu_write_file(dir, i == 0 ? "tls.pem" : "tls.key", data);
		ck_assert_int_eq(chown(to, uid, (gid_t)-1), 0);
		ck_assert_int_eq(chmod(to, 0600), 0);
		free(to);
		free(data);
		free(from);
	}
	pem = xasprintf("%s/tls.pem", dir);
	key = xasprintf("%s/tls.key", dir);
	text = xasprintf("tls_advertise_hosts = *\n"
			 "tls_certificate = %s\n"
			 "tls_privatekey = %s\n"
			 "%s%.0d%s",
	    pem, key,
	    strcmp(tls, "smtps") == 0 ? "tls_on_connect_ports = " : "",
	    strcmp(tls, "smtps") == 0 ? port : 0,
	    strcmp(tls, "smtps") == 0 ? "\n" : "");
	free(pem);
	free(key);
	return text;
}

static bool
smtp_test_exim_start(struct smtp_test_exim *x, const char *root,
    const char *base, bool pipelining, int per_connection, const char *tls)
{
	char *conf, *script, *text, *passwd, *group, *log, *spool, *tls_conf;
	unsigned uid = geteuid() == 0 ? 65534 : (unsigned)geteuid();
	unsigned gid = geteuid() == 0 ? 65534 : (unsigned)getegid();
	char *argv[3];

	memset(x, 0, sizeof(*x));
	/* Exim's user reaches its spool through the test's folder. */
	ck_assert_int_eq(chmod(base, 0755), 0);
	x->dir = xasprintf("%s/exim", base);
	ck_assert_int_eq(mkdir(x->dir, 0755), 0);
	spool = xasprintf("%s/spool", x->dir);
	ck_assert_int_eq(mkdir(spool, 0755), 0);
	ck_assert_int_eq(chown(spool, uid, gid), 0);
	x->mainlog = xasprintf("%s/mainlog", spool);
	x->port = tu_free_port();
	/* Its user, Debian-exim, without touching the system's files. */
	text = xasprintf("Debian-exim:x:%u:%u::%s:/bin/false\n"
			 "root:x:0:0:root:/root:/bin/sh\n",
	    uid, gid, x->dir);
	passwd = tu_write_file(x->dir, "passwd", text);
	free(text);
	text = xasprintf("Debian-exim:x:%u:\nroot:x:0:\n", gid);
	group = tu_write_file(x->dir, "group", text);
	free(text);
	tls_conf = smtp_test_exim_tls(x->dir, tls, x->port, uid);
	text = xasprintf(
	    "keep_environment =\n"
	    "spool_directory = %s\n"
	    "log_file_path = %s/%%slog\n"
	    "primary_hostname = exim.test\n"
	    "local_interfaces = 127.0.0.1\n"
	    "daemon_smtp_ports = %d\n"
	    "%s"
	    "smtp_enforce_sync = true\n"
	    "pipelining_advertise_hosts = %s\n"
	    "smtp_accept_max_per_connection = %d\n"
	    "log_selector = +received_recipients +smtp_protocol_error"
	    " +smtp_syntax_error +pipelining +smtp_connection\n"
	    "acl_smtp_helo = acl_helo\n"
	    "acl_smtp_rcpt = acl_rcpt\n"
	    "begin acl\n"
	    "acl_helo:\n"
	    "  deny message = bare host names are refused here\n"
	    "       condition = ${if match{$sender_helo_name}{\\N\\.\\N}"
	    "{no}{yes}}\n"
	    "  accept\n"
	    "acl_rcpt:\n"
	    "%s"
	    "  accept\n"
	    "begin routers\n"
	    "blackhole:\n"
	    "  driver = redirect\n"
	    "  data = :blackhole:\n"
	    "%s",
	    spool, spool, x->port, tls_conf, pipelining ? "*" : ":",
	    per_connection,
	    tls != NULL ? "  deny message = authenticate first\n"
			  "       !authenticated = *\n"
			: "",
	    tls != NULL
		? "begin authenticators\n"
		  "plain:\n"
		  "  driver = plaintext\n"
		  "  public_name = PLAIN\n"
		  "  server_prompts = :\n"
		  "  server_advertise_condition = ${if def:tls_in_cipher}\n"
		  "  server_condition = ${if and {{eq{$auth2}{familymail}}"
		  "{eq{$auth3}{correct horse}}}}\n"
		  "  server_set_id = $auth2\n"
		: "");
	conf = tu_write_file(x->dir, "exim.conf", text);
	free(text);
	free(tls_conf);
	text = xasprintf("#!/bin/sh\n"
			 "export LD_PRELOAD=%s NSS_WRAPPER_PASSWD=%s"
			 " NSS_WRAPPER_GROUP=%s"
			 " LD_LIBRARY_PATH=%s/usr/lib/x86_64-linux-gnu\n"
			 "exec %s/usr/sbin/exim4 -C %s -bdf -oX %d\n",
	    smtp_test_nss_wrapper, passwd, group, root, root, conf, x->port);
	script = tu_write_file(x->dir, "run.sh", text);
	free(text);
	log = xasprintf("%s/exim.out", x->dir);
	argv[0] = (char *)"/bin/sh";
	argv[1] = script;
	argv[2] = NULL;
	x->pid = tu_spawn(argv, log);
	(void)tu_wait_listening(x->port, &x->pid, 5000);
	free(conf);
	free(script);
	free(passwd);
	free(group);
	free(log);
	free(spool);
	return x->pid != 0;
}

static void
smtp_test_exim_stop(struct smtp_test_exim *x)
{
	if (x->pid != 0) {
		kill(x->pid, SIGTERM);
		(void)tu_wait(x->pid, 10000);
	}
	free(x->dir);
	free(x->mainlog);
}

/*
 * Thirty confirmations into Exim with strict synchronisation, a limit of
 * seven messages a connection (it answers the eighth MAIL with 421),
 * and an ACL that refuses a bare host name in EHLO: with PIPELINING and
 * without, each message arrives exactly once, with the Message-ID the
 * outbox recorded, and no synchronisation error or refusal is logged.
 */
static void
smtp_test_exim_delivers(bool pipelining, const char *tls)
{
	struct smtp_test_exim x;
	const char *why = NULL;
	char *root = smtp_test_exim_root(&why), *base, *conf, *dir, *log, *s;
	char *path, *want;
	int n;

	if (root == NULL) {
		printf("check_smtp: Exim test skipped: %s\n", why);
		return;
	}
	base = tu_mkdtemp();
	if (tls != NULL && smtp_test_tls_dir == NULL) {
		printf("check_smtp: Exim TLS test skipped: openssl missing\n");
		tu_rmtree(base);
		free(base);
		free(root);
		return;
	}
	if (!smtp_test_exim_start(&x, root, base, pipelining, 7, tls)) {
		s = xasprintf("%s/exim/exim.out", base);
		log = tu_read_file(s, NULL);
		printf("check_smtp: Exim test skipped: Exim did not start "
		       "here: %s\n",
		    log != NULL ? log : "?");
		free(log);
		free(s);
		smtp_test_exim_stop(&x);
		tu_rmtree(base);
		free(base);
		free(root);
		return;
	}
	if (tls == NULL) {
		conf = xasprintf("[smtp]\nurl = smtp://127.0.0.1:%d\n"
				 "tls = off\nconnections = 2\n",
		    x.port);
	} else {
		conf = xasprintf("[smtp]\nurl = %s://127.0.0.1:%d\n"
				 "tls = required\nca_file = %s/ca.pem\n"
				 "username = familymail\n"
				 "password_file = smtp-password\n"
				 "connections = 2\n",
		    strcmp(tls, "smtps") == 0 ? "smtps" : "smtp", x.port,
		    smtp_test_tls_dir);
	}
	dir = smtp_test_relays_dir(conf, "SELECT 1");
	if (tls != NULL) {
		s = tu_write_file(dir, "smtp-password", "correct horse\n");
		ck_assert_int_eq(chmod(s, 0600), 0);
		free(s);
	}
	smtp_test_add_bookings(dir, 100, 30, "2026-11-23T08:00:00Z");
	ck_assert_int_eq(smtp_test_daemon_once_at(dir, SMTP_TEST_NOW), 0);
	path = xasprintf("%s/familymail.db", dir);
	ck_assert_int_eq(tu_db_int(path,
			     "SELECT count(*) FROM messages WHERE"
			     " state = 'sent' AND attempts = 1"),
	    30);
	tu_sleep_ms(200);
	log = tu_read_file(x.mainlog, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "synchronization error") == NULL,
	    "a synchronization error: see %s", x.mainlog);
	/* The limit was met, and nothing else was refused. */
	n = smtp_test_count_in_file(x.mainlog, "rejected");
	ck_assert_int_ge(n, 1);
	ck_assert_int_eq(n,
	    smtp_test_count_in_file(
		x.mainlog, "too many messages in one connection"));
	ck_assert_int_eq(smtp_test_count_in_file(x.mainlog, "H=(example.org)"),
	    smtp_test_count_in_file(x.mainlog, "H=("));
	n = 0;
	for (char *p = log; (p = strstr(p, " <= ")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 30);
	/* Over TLS, each message came on an authenticated session. */
	if (tls != NULL) {
		ck_assert_int_eq(
		    smtp_test_count_in_file(x.mainlog, " A=plain:familymail"),
		    30);
		ck_assert_int_eq(
		    smtp_test_count_in_file(x.mainlog, "authenticate first"),
		    0);
	}
	/* Each with its own Message-ID, once. */
	for (int i = 100; i < 130; i++) {
		char *sql = xasprintf(
		    "SELECT message_id FROM messages WHERE recipient ="
		    " 'delegate%d@example.org'",
		    i);

		s = tu_db_text(path, sql);
		want = xasprintf(" id=%s ", s);
		ck_assert_msg(strstr(log, want) != NULL &&
			strstr(strstr(log, want) + 1, want) == NULL,
		    "%s not once in %s", want, x.mainlog);
		free(want);
		free(s);
		free(sql);
	}
	free(log);
	free(path);
	smtp_test_exim_stop(&x);
	free(conf);
	tu_rmtree(dir);
	free(dir);
	tu_rmtree(base);
	free(base);
	free(root);
}

/* The same over STARTTLS, checked against the test CA, with AUTH PLAIN
 * (which Exim offers only once TLS is up) and pipelining; and over
 * implicit TLS (smtps) without it. */
START_TEST(test_smtp_daemon_delivers_into_exim_over_starttls_with_auth)
{
	smtp_test_exim_delivers(true, "starttls");
}
END_TEST

START_TEST(test_smtp_daemon_delivers_into_exim_over_smtps_with_auth)
{
	smtp_test_exim_delivers(false, "smtps");
}
END_TEST

START_TEST(test_smtp_daemon_delivers_into_exim_with_pipelining)
{
	smtp_test_exim_delivers(true, NULL);
}
END_TEST

START_TEST(test_smtp_daemon_delivers_into_exim_without_pipelining)
{
	smtp_test_exim_delivers(false, NULL);
}
END_TEST

static Suite *
smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("smtp");

	tcase_set_timeout(tc, 30);
	tcase_add_test(
	    tc, test_smtp_delivers_envelope_headers_and_body_byte_exact);
	tcase_add_test(
	    tc, test_smtp_fails_a_recipient_rejected_at_rcpt_as_a_bounce);
	tcase_add_test(tc, test_smtp_defers_a_451_at_rcpt);
	tcase_add_test(tc, test_smtp_fails_a_554_after_data_without_a_bounce);
	tcase_add_test(tc, test_smtp_defers_a_452_after_data);
	tcase_add_test(
	    tc, test_smtp_defers_a_dropped_connection_and_sends_the_next);
	tcase_add_test(tc, test_smtp_defers_a_reply_slower_than_the_timeout);
	tcase_add_test(
	    tc, test_smtp_opens_a_new_connection_when_mail_gets_a_4xx);
	tcase_add_test(
	    tc, test_smtp_resends_at_once_after_a_421_per_connection_limit);
	tcase_add_test(
	    tc, test_smtp_checks_an_idle_connection_before_reusing_it);
	tcase_add_test(tc, test_smtp_ends_each_connection_with_quit);
	tcase_add_test(
	    tc, test_smtp_greets_with_a_configured_or_fully_qualified_name);
	tcase_add_test(
	    tc, test_smtp_sends_smtputf8_where_offered_and_says_why_not);
	tcase_add_test(
	    tc, test_smtp_sends_booking_mail_before_bulk_waiting_for_the_rate);
	tcase_add_test(
	    tc, test_smtp_relays_fail_over_when_the_first_refuses_connections);
	tcase_add_test(
	    tc, test_smtp_relays_pass_over_a_throttling_relay_at_once);
	tcase_add_test(tc, test_smtp_relays_move_on_when_a_quota_is_spent);
	tcase_add_test(
	    tc, test_smtp_backs_off_at_a_broken_relay_not_per_message);
	tcase_add_test(
	    tc, test_smtp_sends_the_next_message_after_a_rejected_recipient);
	tcase_add_test(tc,
	    test_smtp_sends_twenty_messages_over_four_connections_once_each);
	tcase_add_test(tc,
	    test_smtp_pipelines_a_queue_on_one_connection_outcome_by_outcome);
	tcase_add_test(tc, test_smtp_hold_keeps_the_next_data_until_the_commit);
	tcase_add_test(
	    tc, test_smtp_sent_log_records_acceptances_instead_of_waiting);
	tcase_add_test(tc, test_smtp_rate_limit_spaces_messages_out);
	tcase_add_test(tc,
	    test_smtp_refuses_submit_when_full_closing_or_given_bad_addresses);
	tcase_add_test(tc,
	    test_smtp_close_finishes_the_message_in_flight_and_defers_the_rest);
	tcase_add_test(
	    tc, test_smtp_close_defers_messages_held_by_the_rate_limit);
	tcase_add_test(
	    tc, test_smtp_rate_limited_relay_holds_seconds_of_mail_not_minutes);
	tcase_add_test(
	    tc, test_smtp_create_refuses_a_password_file_others_can_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 40);
	tcase_add_test(
	    tc, test_smtp_daemon_records_what_became_of_each_message);
	tcase_add_test(
	    tc, test_smtp_daemon_refusals_count_against_the_recipient_only);
	tcase_add_test(tc, test_smtp_daemon_delivers_into_postfix_smtp_sink);
	tcase_add_test(tc, test_smtp_daemon_killed_mid_queue_loses_nothing);
	tcase_add_test(
	    tc, test_smtp_daemon_killed_mid_pipelined_queue_loses_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("relays");
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_smtp_daemon_spends_a_daily_quota_then_fails_over);
	tcase_add_test(tc, test_smtp_daemon_fails_over_to_the_backup_relay);
	tcase_add_test(tc, test_smtp_daemon_pauses_on_a_refusal_about_our_side);
	tcase_add_test(tc,
	    test_smtp_daemon_sends_a_confirmation_before_the_rest_of_a_digest);
	suite_add_tcase(s, tc);

	tc = tcase_create("exim");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_smtp_daemon_delivers_into_exim_with_pipelining);
	tcase_add_test(
	    tc, test_smtp_daemon_delivers_into_exim_without_pipelining);
	tcase_add_test(
	    tc, test_smtp_daemon_delivers_into_exim_over_starttls_with_auth);
	tcase_add_test(
	    tc, test_smtp_daemon_delivers_into_exim_over_smtps_with_auth);
	suite_add_tcase(s, tc);

	if (smtp_test_tls_dir == NULL) {
		printf("check_smtp: openssl not found or failed: the TLS and "
		       "AUTH tests are left out\n");
		return s;
	}
	tc = tcase_create("tls");
	tcase_set_timeout(tc, 30);
	tcase_add_test(
	    tc, test_smtp_sends_over_starttls_checked_against_the_ca_file);
	tcase_add_test(tc, test_smtp_sends_over_implicit_tls_with_smtps);
	tcase_add_test(tc, test_smtp_defers_when_the_server_offers_no_starttls);
	tcase_add_test(
	    tc, test_smtp_refuses_a_certificate_not_signed_by_the_ca);
	tcase_add_test(tc, test_smtp_authenticates_with_the_password_file);
	tcase_add_test(tc, test_smtp_pipelines_over_starttls_with_auth);
	tcase_add_test(tc, test_smtp_defers_on_a_wrong_password);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	int ret;

	log_init(getenv("SMTP_TEST_DEBUG") != NULL ? LOG_LEVEL_DEBUG
						   : LOG_LEVEL_WARNING);
	smtp_test_python = smtp_test_find_python();
	if (smtp_test_python == NULL) {
		printf("check_smtp: SKIP: no python3 with aiosmtpd (Debian: "
		       "apt-get install python3-aiosmtpd; or set PYTHON3)\n");
		return 77;
	}
	smtp_test_tls_dir = smtp_test_make_certs();
	ret = tu_run(smtp_suite());
	if (smtp_test_tls_dir != NULL)
		tu_rmtree(smtp_test_tls_dir);
	free(smtp_test_tls_dir);
	free(smtp_test_python);
	return ret;
}
