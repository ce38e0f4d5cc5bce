/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * transport_maildir: delivers each message as a file in a Maildir, the
 * way a local delivery agent does: written and synced under tmp/, then
 * renamed into new/, so a reader never sees half a message. The writes
 * run in libuv's thread pool; the loop only hands jobs out and takes
 * outcomes back. Files use LF line endings, as Maildir readers expect,
 * and carry Return-Path and Delivered-To like any local delivery.
 *
 * It is for the demo and for local development: a message counts as
 * sent once its file is in new/.
 *
 * A crash can leave a half-written file in tmp/. As the Maildir
 * convention asks, files there untouched for 36 hours are removed when
 * the transport starts (in the thread pool, logged): no write takes
 * that long, so they are nobody's.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "send/transport_int.h"
#include "util.h"

#define MAILDIR_CONCURRENCY 4
/* A file in tmp/ untouched this long was left by a crash. */
#define MAILDIR_STALE_SECS (36 * 60 * 60)

struct transport_maildir {
	struct transport base; /* first: transport_closed() frees it */
	char *path;
	char host[64];
	unsigned inflight;
	unsigned seq;
	bool closing;
};

struct transport_maildir_job {
	uv_work_t req;
	struct transport_maildir *md;
	struct transport_msg *m;
	unsigned seq;
	int err;
	char name[160];
};

/* One sweep of tmp/ in the thread pool; it owns its copy of the path, so
 * the transport may close before it ends. */
struct transport_maildir_sweep {
	uv_work_t req;
	char *dir;
	int removed, failed, err;
};

static void
transport_maildir_on_sweep(uv_work_t *req)
{
	struct transport_maildir_sweep *sw = req->data;
	time_t now = time(NULL);
	struct dirent *e;
	struct stat st;
	DIR *d;

	d = opendir(sw->dir);
	if (d == NULL) {
		sw->err = -errno;
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			-1 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* Written or read within the window: maybe a write in
		 * progress, of ours or of another deliverer. */
		if (now - st.st_mtime < MAILDIR_STALE_SECS ||
		    now - st.st_atime < MAILDIR_STALE_SECS)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
			sw->removed++;
			log_debug("maildir removed stale file=%s/%s age=%lldh",
			    sw->dir, e->d_name,
			    (long long)(now - st.st_mtime) / 3600);
		} else {
			sw->failed++;
			log_warn("maildir cannot remove stale file=%s/%s",
			    sw->dir, e->d_name);
		}
	}
	closedir(d);
}

static void
transport_maildir_on_swept(uv_work_t *req, int status)
{
	struct transport_maildir_sweep *sw = req->data;

	if (status != 0 || sw->err != 0)
		log_warnx("maildir cannot sweep folder=%s: %s", sw->dir,
		    strerror(status != 0 ? -status : -sw->err));
	else if (sw->removed > 0 || sw->failed > 0)
		log_notice("maildir removed stale temporary files folder=%s "
			   "removed=%d failed=%d (left by a crash, untouched "
			   "for 36h)",
		    sw->dir, sw->removed, sw->failed);
	free(sw->dir);
	free(sw);
}

/* Starts the sweep of tmp/; a sweep that cannot start waits for the
 * next start. */
static void
transport_maildir_sweep_start(uv_loop_t *loop, const char *path)
{
	struct transport_maildir_sweep *sw = xcalloc(1, sizeof(*sw));

	sw->dir = xasprintf("%s/tmp", path);
	sw->req.data = sw;
	if (uv_queue_work(loop, &sw->req, transport_maildir_on_sweep,
		transport_maildir_on_swept) != 0) {
		free(sw->dir);
		free(sw);
	}
}

static int
transport_maildir_mkdir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

static struct transport *
transport_maildir_create(uv_loop_t *loop, const struct cfg *cfg, char **err)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	struct transport_maildir *md;
	char *sub;
	int ret;

	if (cfg->maildir_path == NULL) {
		*err = xstrdup("[maildir] path is not set");
		return NULL;
	}
	ret = transport_maildir_mkdir(cfg->maildir_path);
	for (size_t i = 0; ret == 0 && i < UTIL_ARRAY_LEN(subdirs); i++) {
		sub = xasprintf("%s/%s", cfg->maildir_path, subdirs[i]);
		ret = transport_maildir_mkdir(sub);
		free(sub);
	}
	if (ret != 0) {
		*err = xasprintf(
		    "maildir %s: %s", cfg->maildir_path, strerror(-ret));
		return NULL;
	}
	transport_maildir_sweep_start(loop, cfg->maildir_path);
	md = xcalloc(1, sizeof(*md));
	md->path = xstrdup(cfg->maildir_path);
	if (gethostname(md->host, sizeof(md->host)) != 0)
		(void)snprintf(md->host, sizeof(md->host), "localhost");
	md->host[sizeof(md->host) - 1] = '\0';
	/* '/' and ':' have meanings in Maildir file names. */
	for (char *p = md->host; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return &md->base;
}

static int
transport_maildir_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes data with CRLF turned into LF. */
static int
transport_maildir_write_lf(int fd, const struct buf *data)
{
	const char *p = data->data, *end = data->data + data->len, *cr;
	int ret = 0;

	while (ret == 0 && p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL || cr + 1 >= end || cr[1] != '\n') {
			ret = transport_maildir_write_all(
			    fd, p, (size_t)((cr == NULL ? end : cr + 1) - p));
			p = cr == NULL ? end : cr + 1;
			continue;
		}
		ret = transport_maildir_write_all(fd, p, (size_t)(cr - p));
		p = cr + 1; /* the LF is written with the next piece */
	}
	return ret;
}

static void
transport_maildir_on_work(uv_work_t *req)
{
	struct transport_maildir_job *job = req->data;
	struct transport_msg *m = job->m;
	struct timespec ts;
	char *tmp, *new, *head, *dir;
	int fd, dfd, ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	(void)snprintf(job->name, sizeof(job->name), "%lld.M%06ldP%dQ%u.%s.eml",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(), job->seq,
	    job->md->host);
	tmp = xasprintf("%s/tmp/%s", job->md->path, job->name);
	new = xasprintf("%s/new/%s", job->md->path, job->name);
	dir = xasprintf("%s/new", job->md->path);
	head = xasprintf("Return-Path: <%s>\nDelivered-To: %s\n",
	    m->envelope_from != NULL ? m->envelope_from : "", m->rcpt);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		ret = -errno;
	if (ret == 0)
		ret = transport_maildir_write_all(fd, head, strlen(head));
	if (ret == 0)
		ret = transport_maildir_write_lf(fd, &m->data);
	if (ret == 0 && fsync(fd) == -1)
		ret = -errno;
	if (fd != -1 && close(fd) == -1 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, new) == -1)
		ret = -errno;
	if (ret != 0 && fd != -1)
		unlink(tmp);
	if (ret == 0) {
		/* The rename is durable once the folder is synced. */
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd != -1) {
			fsync(dfd);
			close(dfd);
		}
	}
	job->err = ret;
	free(tmp);
	free(new);
	free(dir);
	free(head);
}

static void
transport_maildir_on_done(uv_work_t *req, int status)
{
	struct transport_maildir_job *job = req->data;
	struct transport_maildir *md = job->md;
	struct transport_msg *m = job->m;

	free(m->reply);
	if (status == 0 && job->err == 0) {
		m->outcome = TRANSPORT_SENT;
		m->reply = xasprintf("maildir new/%s", job->name);
	} else {
		/* Disk full, permissions: local trouble that an
		 * administrator fixes; the message waits for it. */
		m->outcome = TRANSPORT_DEFER;
		m->reply = xasprintf(
		    "maildir: %s", strerror(status != 0 ? -status : -job->err));
		log_warnx("maildir write id=%lld error=\"%s\"",
		    (long long)m->id, m->reply);
	}
	free(job);
	md->inflight--;
	md->base.done(m, md->base.done_arg);
	if (md->closing && md->inflight == 0) {
		free(md->path);
		transport_closed(&md->base);
	}
}

static int
transport_maildir_submit(struct transport *t, struct transport_msg *m)
{
	struct transport_maildir *md = (struct transport_maildir *)t;
	struct transport_maildir_job *job;
	int ret;

	if (md->inflight >= MAILDIR_CONCURRENCY)
		return -EAGAIN;
	job = xcalloc(1, sizeof(*job));
	job->md = md;
	job->m = m;
	job->seq = ++md->seq;
	job->req.data = job;
	ret = uv_queue_work(t->loop, &job->req, transport_maildir_on_work,
	    transport_maildir_on_done);
	if (ret != 0) {
		free(job);
		return ret;
	}
	md->inflight++;
	return 0;
}

static unsigned
transport_maildir_capacity(const struct transport *t)
{
	const struct transport_maildir *md =
	    (const struct transport_maildir *)t;

	return md->closing ? 0 : MAILDIR_CONCURRENCY - md->inflight;
}

static unsigned
transport_maildir_inflight(const struct transport *t)
{
	return ((const struct transport_maildir *)t)->inflight;
}

static void
transport_maildir_close(struct transport *t)
{
	struct transport_maildir *md = (struct transport_maildir *)t;

	/* Writes in flight are short and local: let them finish. */
	md->closing = true;
	if (md->inflight == 0) {
		free(md->path);
		transport_closed(t);
	}
}

const struct transport_ops transport_maildir_ops = {
	.name = "maildir",
	.create = transport_maildir_create,
	.submit = transport_maildir_submit,
	.capacity = transport_maildir_capacity,
	.inflight = transport_maildir_inflight,
	.close = transport_maildir_close,
};
