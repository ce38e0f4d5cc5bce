/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fetch: see fetch.h. The shape follows libcurl's multi-socket API: curl
 * tells us which sockets to watch (fetch_on_socket) and when to time out
 * (fetch_on_curl_timer); libuv tells curl what happened
 * (curl_multi_socket_action), after which finished transfers are
 * collected (fetch_check_done).
 */
#include "config.h"

#include "fetch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "util.h"

struct fetch {
	uv_loop_t *loop;
	CURLM *multi;
	CURL *easy; /* the transfer in flight, or NULL */
	uv_timer_t timer;
	int open_handles; /* the timer and every poll handle */
	bool freeing;
	struct buf body;
	size_t max_size;
	bool too_large;
	char error[CURL_ERROR_SIZE];
	fetch_done_cb done;
	void *done_arg;
};

struct fetch_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct fetch *f;
};

static void
fetch_on_handle_closed(uv_handle_t *h)
{
	struct fetch *f = h->data;

	if (--f->open_handles == 0 && f->freeing) {
		buf_fini(&f->body);
		free(f);
	}
}

static void
fetch_on_sock_closed(uv_handle_t *h)
{
	struct fetch_sock *s = h->data;
	struct fetch *f = s->f;

	free(s);
	if (--f->open_handles == 0 && f->freeing) {
		buf_fini(&f->body);
		free(f);
	}
}

static void
fetch_finish(struct fetch *f, CURLcode rc)
{
	long status = 0;
	fetch_done_cb done = f->done;
	const char *msg = NULL;
	int err = 0;

	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(f->multi, f->easy);
	curl_easy_cleanup(f->easy);
	f->easy = NULL;
	f->done = NULL;
	if (rc != CURLE_OK) {
		err = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		if (f->too_large) {
			err = -EFBIG;
			msg = "response larger than the limit";
		} else {
			msg = f->error[0] != '\0' ? f->error
						  : curl_easy_strerror(rc);
		}
	}
	if (done != NULL)
		done(f->done_arg, err, status, &f->body, msg);
}

static void
fetch_check_done(struct fetch *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == f->easy)
			fetch_finish(f, msg->data.result);
}

static void
fetch_on_poll(uv_poll_t *h, int status, int events)
{
	struct fetch_sock *s = h->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->f->multi, s->fd, flags, &running);
	fetch_check_done(s->f);
}

static int
fetch_on_socket(
    CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct fetch *f = userp;
	struct fetch_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, fetch_on_sock_closed);
			curl_multi_assign(f->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->f = f;
		if (uv_poll_init_socket(f->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		f->open_handles++;
		curl_multi_assign(f->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, fetch_on_poll);
	return 0;
}

static void
fetch_on_timer(uv_timer_t *h)
{
	struct fetch *f = h->data;
	int running;

	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_done(f);
}

static int
fetch_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetch *f = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&f->timer);
	else
		uv_timer_start(&f->timer, fetch_on_timer,
		    timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
	return 0;
}

static size_t
fetch_on_write(char *p, size_t size, size_t n, void *userp)
{
	struct fetch *f = userp;

	if (f->body.len + n > f->max_size) {
		f->too_large = true;
		return 0;
	}
	buf_append(&f->body, p, n);
	(void)size;
	return n;
}

struct fetch *
fetch_new(uv_loop_t *loop)
{
	struct fetch *f = xcalloc(1, sizeof(*f));

	f->loop = loop;
	f->multi = curl_multi_init();
	if (f->multi == NULL) {
		free(f);
		return NULL;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetch_on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(
	    f->multi, CURLMOPT_TIMERFUNCTION, fetch_on_curl_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	f->open_handles = 1;
	buf_init(&f->body);
	return f;
}

int
fetch_get(struct fetch *f, const char *url, size_t max_size, long timeout_secs,
    fetch_done_cb done, void *arg)
{
	CURL *e;

	if (f->easy != NULL)
		return -EBUSY;
	e = curl_easy_init();
	if (e == NULL)
		return -ENOMEM;
	buf_reset(&f->body);
	f->too_large = false;
	f->error[0] = '\0';
	f->max_size = max_size;
	f->done = done;
	f->done_arg = arg;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_secs);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout_secs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "familymail/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* One GET every few minutes gains nothing from a kept connection,
	 * and a closed one leaves no socket behind for fetch_free(). */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -EIO;
	}
	f->easy = e;
	return 0;
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	if (f->easy != NULL) {
		f->done = NULL;
		curl_multi_remove_handle(f->multi, f->easy);
		curl_easy_cleanup(f->easy);
		f->easy = NULL;
	}
	/* Removing the handle made curl ask to unwatch its sockets. */
	curl_multi_cleanup(f->multi);
	f->freeing = true;
	uv_timer_stop(&f->timer);
	uv_close((uv_handle_t *)&f->timer, fetch_on_handle_closed);
}
