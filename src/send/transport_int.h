/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport_int: what the implementations of a transport share with
 * transport.c: the ops table each fills in, the part of struct transport
 * common to them all, and the tables themselves. Callers include
 * transport.h instead and see struct transport as opaque.
 *
 * It holds no implementation: transport_smtp.c and transport_maildir.c
 * do, and transport.c picks one by [transport] type.
 */
#ifndef FM_TRANSPORT_INT_H
#define FM_TRANSPORT_INT_H

#include <stdbool.h>

#include <uv.h>

#include "send/transport.h"

struct cfg;

/* One implementation; every function is called on the loop thread, and
 * each behaves as the transport_*() function of its name says. */
struct transport_ops {
	const char *name;
	/* A new transport, its struct transport first and zeroed (the
	 * caller fills it in); NULL with *err (caller frees). */
	struct transport *(*create)(
	    uv_loop_t *loop, const struct cfg *cfg, char **err);
	int (*submit)(struct transport *t, struct transport_msg *m);
	unsigned (*capacity)(const struct transport *t);
	unsigned (*inflight)(const struct transport *t);
	/* Ends with transport_closed(). */
	void (*close)(struct transport *t);
	/* Optional: see transport_hold_until_committed(). */
	void (*gate)(struct transport *t, bool on);
	void (*committed)(struct transport *t);
	bool (*waits_for_commits)(const struct transport *t);
	/* Optional: see transport_log_sent(). */
	int (*log_sent)(struct transport *t, const char *database, char **err);
	/* Optional, for transports with lanes or relays: see the
	 * functions of the same names. */
	unsigned (*lane_capacity)(
	    const struct transport *t, enum transport_lane lane);
	unsigned (*relay_count)(const struct transport *t);
	int (*relay_get)(
	    const struct transport *t, unsigned i, struct transport_relay *out);
	bool (*pause)(struct transport *t, const char *relay,
	    enum transport_lane lane, const char *cause);
	void (*note_usage)(
	    struct transport *t, const char *relay, time_t minute, unsigned n);
};

/* The part common to every implementation; each embeds it first. */
struct transport {
	const struct transport_ops *ops;
	uv_loop_t *loop;
	transport_done_cb done;
	void *done_arg;
	void (*closed)(void *arg); /* set by transport_close() */
	void *closed_arg;
	void (*relay_changed)(const struct transport_relay *info, void *arg);
	void *relay_arg;
};

/* Used by implementations: finishes the close once nothing is left,
 * freeing t (allocated by create(), t at its start). */
void transport_closed(struct transport *t);

/*
 * For tests: from now on transport_new() creates ops's implementation,
 * whatever [transport] type says, until this is called again with NULL.
 * This is how a test puts a scripted transport under the real sender.
 * Loop thread only; the daemon and the admin tool never call it.
 */
void transport_override(const struct transport_ops *ops);

extern const struct transport_ops transport_smtp_ops;
extern const struct transport_ops transport_maildir_ops;

#endif
