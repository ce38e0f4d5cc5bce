/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fetch: HTTP(S) GETs driven by the libuv loop through libcurl's multi
 * interface (a uv_poll_t per socket, one uv_timer_t for curl's timeouts),
 * so a slow web server never blocks the loop. Bodies are capped; only
 * http and https are followed, certificates are verified.
 *
 * It is for the blog feed; SMTP does not go through it (see
 * transport_smtp.c for why).
 */
#ifndef FM_FETCH_H
#define FM_FETCH_H

#include <stddef.h>

#include <uv.h>

#include "buf.h"

struct buf;

/*
 * Called on the loop thread when a GET ends. err is 0 on a complete
 * transfer (any HTTP status: check status), or a negative errno with
 * errmsg saying what happened (connection refused, timeout, too large).
 * body belongs to the fetch: copy what you keep.
 */
typedef void (*fetch_done_cb)(void *arg, int err, long status,
    const struct buf *body, const char *errmsg);

struct fetch;

struct fetch *fetch_new(uv_loop_t *loop);

/* Starts a GET of url; one at a time per fetch (-EBUSY otherwise). */
int fetch_get(struct fetch *f, const char *url, size_t max_size,
    long timeout_secs, fetch_done_cb done, void *arg);

/* Aborts a transfer in flight (its callback is not called), closes the
 * handles and frees f once they are closed. */
void fetch_free(struct fetch *f);

#endif
