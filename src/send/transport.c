/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport: the one place that picks an implementation by name, and the
 * message object they share. See transport.h for the contract.
 */
#include "config.h"

#include "send/transport.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "cfg.h"
#include "send/transport_int.h"
#include "util.h"

static const struct transport_ops *transport_override_ops;

void
transport_override(const struct transport_ops *ops)
{
	transport_override_ops = ops;
}

struct transport *
transport_new(uv_loop_t *loop, const struct cfg *cfg, transport_done_cb done,
    void *arg, char **err)
{
	const struct transport_ops *ops;
	struct transport *t;

	switch (cfg->transport) {
	case CFG_TRANSPORT_SMTP:
		ops = &transport_smtp_ops;
		break;
	case CFG_TRANSPORT_MAILDIR:
		ops = &transport_maildir_ops;
		break;
	default:
		*err = xstrdup("unknown transport");
		return NULL;
	}
	if (transport_override_ops != NULL)
		ops = transport_override_ops;
	t = ops->create(loop, cfg, err);
	if (t == NULL)
		return NULL;
	t->ops = ops;
	t->loop = loop;
	t->done = done;
	t->done_arg = arg;
	return t;
}

int
transport_submit(struct transport *t, struct transport_msg *m)
{
	if (t->closed != NULL)
		return -ESHUTDOWN;
	return t->ops->submit(t, m);
}

unsigned
transport_capacity(const struct transport *t)
{
	if (t->closed != NULL)
		return 0;
	return t->ops->capacity(t);
}

unsigned
transport_lane_capacity(const struct transport *t, enum transport_lane lane)
{
	if (t->closed != NULL)
		return 0;
	if (t->ops->lane_capacity != NULL)
		return t->ops->lane_capacity(t, lane);
	return t->ops->capacity(t);
}

void
transport_set_relay_cb(struct transport *t,
    void (*changed)(const struct transport_relay *info, void *arg), void *arg)
{
	t->relay_changed = changed;
	t->relay_arg = arg;
}

unsigned
transport_relay_count(const struct transport *t)
{
	return t->ops->relay_count != NULL ? t->ops->relay_count(t) : 0;
}

int
transport_relay_get(
    const struct transport *t, unsigned i, struct transport_relay *out)
{
	if (t->ops->relay_get == NULL)
		return -ENOENT;
	return t->ops->relay_get(t, i, out);
}

bool
transport_pause(struct transport *t, const char *relay,
    enum transport_lane lane, const char *cause)
{
	if (t->ops->pause == NULL || t->closed != NULL)
		return false;
	return t->ops->pause(t, relay, lane, cause);
}

void
transport_note_usage(
    struct transport *t, const char *relay, time_t minute, unsigned n)
{
	if (t->ops->note_usage != NULL)
		t->ops->note_usage(t, relay, minute, n);
}

void
transport_hold_until_committed(struct transport *t)
{
	if (t->ops->gate != NULL)
		t->ops->gate(t, true);
}

void
transport_committed(struct transport *t)
{
	if (t->ops->committed != NULL)
		t->ops->committed(t);
}

bool
transport_waits_for_commits(const struct transport *t)
{
	return t->ops->waits_for_commits != NULL &&
	    t->ops->waits_for_commits(t);
}

int
transport_log_sent(struct transport *t, const char *database, char **err)
{
	*err = NULL;
	return t->ops->log_sent != NULL ? t->ops->log_sent(t, database, err)
					: 0;
}

unsigned
transport_inflight(const struct transport *t)
{
	return t->ops->inflight(t);
}

void
transport_close(struct transport *t, void (*closed)(void *arg), void *arg)
{
	t->closed = closed;
	t->closed_arg = arg;
	t->ops->close(t);
}

void
transport_closed(struct transport *t)
{
	void (*closed)(void *) = t->closed;
	void *arg = t->closed_arg;

	free(t);
	if (closed != NULL)
		closed(arg);
}

struct transport_msg *
transport_msg_new(void)
{
	struct transport_msg *m = xcalloc(1, sizeof(*m));

	buf_init(&m->data);
	return m;
}

void
transport_msg_free(struct transport_msg *m)
{
	if (m == NULL)
		return;
	free(m->envelope_from);
	free(m->rcpt);
	free(m->reply);
	free(m->message_id);
	free(m->relay);
	buf_fini(&m->data);
	free(m);
}
