/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sentlog: see sentlog.h. The files are written with the lock of the
 * struct let go, so that threads append at once (O_APPEND keeps their
 * lines whole); the counts that decide when a file may be emptied are
 * kept under it.
 */
#include "config.h"

#include "send/sentlog.h"

#include <sys/file.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "util.h"

#define SENTLOG_FILE_MAX  (64 * 1024 * 1024)
#define SENTLOG_MSGID_MAX 255
#define SENTLOG_SWITCH    (64 * 1024) /* bytes in a file before a turn */

struct sentlog {
	pthread_mutex_t lock;
	int fd[2];
	char *path[2];
	unsigned cur;        /* the file new lines go to */
	unsigned writing[2]; /* lines being written to each, not yet
				sentlog_written() */
	uint64_t last[2];    /* ticket of each file's last line */
	size_t bytes[2];
	bool failed; /* a write failed: the log is off */
};

char *
sentlog_path(const char *database, unsigned n)
{
	return xasprintf("%s-sent-%ld-%u", database, (long)getpid(), n);
}

/* Opens path with flags and takes an exclusive flock(2) on it without
 * waiting: a descriptor, -EBUSY if another open file holds the lock, or
 * -errno. */
static int
sentlog_open_locked(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600), ret;

	if (fd == -1)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
	close(fd);
	return ret;
}

int
sentlog_open(const char *path)
{
	return sentlog_open_locked(path, O_WRONLY | O_APPEND | O_CREAT);
}

/* A token of the line: no spaces or controls, not empty. */
static bool
sentlog_token_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > SENTLOG_MSGID_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
sentlog_append(int fd, int64_t id, time_t when, int code,
    const char *message_id, const char *relay, const char *reply)
{
	char line[SENTLOG_LINE_MAX];
	size_t n, k;
	ssize_t w;
	int len;

	len = snprintf(line, sizeof(line), "%" PRId64 " %lld %d %s ", id,
	    (long long)when, code,
	    sentlog_token_ok(message_id) ? message_id : "-");
	if (len < 0 || (size_t)len >= sizeof(line) - 1)
		return -EINVAL;
	n = (size_t)len;
	if (relay != NULL && sentlog_token_ok(relay)) {
		len = snprintf(line + n, sizeof(line) - n, "relay=%s ", relay);
		if (len < 0 || (size_t)len >= sizeof(line) - n - 1)
			return -EINVAL;
		n += (size_t)len;
	}
	/* The reply to the end of the line, controls made '?'. */
	for (k = 0; reply != NULL && reply[k] != '\0' && n < sizeof(line) - 1;
	     k++, n++) {
		unsigned char ch = (unsigned char)reply[k];

		line[n] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	line[n++] = '\n';
	do
		w = write(fd, line, n);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return -errno;
	/* A short write leaves a line with no end, which is ignored. */
	return (size_t)w == n ? (int)n : -EIO;
}

int
sentlog_new(const char *database, struct sentlog **out, char **err)
{
	static unsigned serial;
	struct sentlog *l;
	int fd[2] = { -1, -1 };
	char *path[2];

	for (unsigned k = 0; k < 2; k++) {
		path[k] = sentlog_path(database, serial++);
		fd[k] = sentlog_open(path[k]);
	}
	if (fd[0] < 0 || fd[1] < 0) {
		int ret = fd[0] < 0 ? fd[0] : fd[1];

		*err = xasprintf(
		    "sent log %s: %s", path[fd[0] < 0 ? 0 : 1], strerror(-ret));
		for (unsigned k = 0; k < 2; k++) {
			if (fd[k] >= 0) {
				close(fd[k]);
				unlink(path[k]);
			}
			free(path[k]);
		}
		*out = NULL;
		return ret;
	}
	l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	for (unsigned k = 0; k < 2; k++) {
		l->fd[k] = fd[k];
		l->path[k] = path[k];
	}
	*out = l;
	return 0;
}

int
sentlog_write(struct sentlog *l, int64_t id, time_t when, int code,
    const char *message_id, const char *relay, const char *reply)
{
	unsigned k;
	int w;

	pthread_mutex_lock(&l->lock);
	if (l->failed) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	k = l->cur;
	l->writing[k]++;
	pthread_mutex_unlock(&l->lock);
	w = sentlog_append(l->fd[k], id, when, code, message_id, relay, reply);
	pthread_mutex_lock(&l->lock);
	if (w > 0) {
		l->bytes[k] += (size_t)w;
	} else {
		l->writing[k]--;
		l->failed = true;
	}
	pthread_mutex_unlock(&l->lock);
	return w > 0 ? (int)k : -1;
}

void
sentlog_written(struct sentlog *l, int file, uint64_t ticket)
{
	pthread_mutex_lock(&l->lock);
	l->writing[file]--;
	l->last[file] = ticket;
	pthread_mutex_unlock(&l->lock);
}

void
sentlog_committed(struct sentlog *l, uint64_t acked)
{
	unsigned cur;

	pthread_mutex_lock(&l->lock);
	cur = l->cur;
	if (l->bytes[cur] >= SENTLOG_SWITCH && l->bytes[cur ^ 1] == 0)
		l->cur = cur ^ 1;
	for (unsigned k = 0; k < 2; k++) {
		if (k == l->cur || l->bytes[k] == 0 || l->writing[k] > 0 ||
		    acked < l->last[k])
			continue;
		if (ftruncate(l->fd[k], 0) == 0)
			l->bytes[k] = 0;
	}
	pthread_mutex_unlock(&l->lock);
}

bool
sentlog_failed(struct sentlog *l)
{
	bool failed;

	pthread_mutex_lock(&l->lock);
	failed = l->failed;
	pthread_mutex_unlock(&l->lock);
	return failed;
}

const char *
sentlog_current_path(struct sentlog *l)
{
	const char *path;

	pthread_mutex_lock(&l->lock);
	path = l->path[l->cur];
	pthread_mutex_unlock(&l->lock);
	return path;
}

void
sentlog_free(struct sentlog *l, bool all_committed)
{
	if (l == NULL)
		return;
	for (unsigned k = 0; k < 2; k++) {
		close(l->fd[k]);
		if (all_committed && unlink(l->path[k]) != 0)
			log_warn("smtp cannot remove %s", l->path[k]);
		free(l->path[k]);
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* One line: "<id> <time> <code> <message-id|-> [relay=<relay>]
 * <reply>". 0, or -EINVAL. */
static int
sentlog_parse(char *line, int64_t *id, time_t *when, int *code,
    char **message_id, char **relay, char **reply)
{
	char *f[4], *p = line, *end;
	long long v;

	for (int i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			return -EINVAL;
		*p++ = '\0';
	}
	errno = 0;
	v = strtoll(f[0], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[0] || v <= 0)
		return -EINVAL;
	*id = v;
	v = strtoll(f[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[1] || v <= 0)
		return -EINVAL;
	*when = (time_t)v;
	v = strtoll(f[2], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[2] || v < 0 || v > 599)
		return -EINVAL;
	*code = (int)v;
	*message_id = strcmp(f[3], "-") == 0 ? NULL : f[3];
	*relay = NULL;
	if (strncmp(p, "relay=", 6) == 0 && strchr(p, ' ') != NULL) {
		*relay = p + 6;
		p = strchr(p, ' ');
		*p++ = '\0';
	}
	*reply = p;
	return 0;
}

/* Applies one file's lines; the caller holds a transaction. The number
 * of messages marked sent, or -errno. */
static int
sentlog_apply_file(const char *path, struct outbox *o)
{
	struct buf b;
	char *p, *nl;
	int ret, lineno = 0, marked = 0;

	buf_init(&b);
	ret = util_read_file(path, SENTLOG_FILE_MAX, &b);
	if (ret != 0) {
		log_warnx("sentlog %s: cannot read: %s", path, strerror(-ret));
		buf_fini(&b);
		return ret;
	}
	for (p = b.data; p != NULL && (nl = strchr(p, '\n')) != NULL;
	     p = nl + 1) {
		struct outbox_update u = { 0 };
		char *message_id, *relay, *reply;
		int64_t id;
		time_t when;
		int code;

		*nl = '\0';
		lineno++;
		if (sentlog_parse(p, &id, &when, &code, &message_id, &relay,
			&reply) != 0) {
			log_warnx("sentlog %s:%d: not a sent-log line, skipped",
			    path, lineno);
			continue;
		}
		u.smtp_code = code;
		u.smtp_reply = *reply != '\0' ? reply : NULL;
		u.message_id = message_id;
		u.relay = relay;
		ret = outbox_transition(
		    o, id, OUTBOX_SENDING, OUTBOX_SENT, when, &u);
		if (ret == -ESTALE || ret == -ENOENT)
			continue; /* committed before the crash, or gone */
		if (ret != 0)
			break;
		log_notice("outbox sent id=%lld code=%d reason=sent-log "
			   "reply=\"%s\"",
		    (long long)id, code, reply);
		marked++;
	}
	buf_fini(&b);
	return ret != 0 && ret != -ESTALE && ret != -ENOENT ? ret : marked;
}

/* The log files of database: "<base>-sent-<pid>-<n>" in its folder.
 * *paths is a new array of *n new strings. */
static int
sentlog_find(const char *database, char ***paths, size_t *n)
{
	const char *slash = strrchr(database, '/');
	char *dir = slash == NULL
	    ? xstrdup(".")
	    : xstrndup(database, (size_t)(slash - database));
	char *prefix =
	    xasprintf("%s-sent-", slash == NULL ? database : slash + 1);
	size_t plen = strlen(prefix), cap = 0;
	struct dirent *de;
	DIR *d;

	*paths = NULL;
	*n = 0;
	d = opendir(slash == database ? "/" : dir);
	if (d == NULL) {
		int ret = -errno;

		free(dir);
		free(prefix);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		const char *rest = de->d_name + plen;

		if (strncmp(de->d_name, prefix, plen) != 0 || *rest == '\0' ||
		    strspn(rest, "0123456789-") != strlen(rest))
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			*paths = xreallocarray(*paths, cap, sizeof(**paths));
		}
		(*paths)[(*n)++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	free(dir);
	free(prefix);
	return 0;
}

int
sentlog_replay(const char *database, sqlite3 *db, struct outbox *o)
{
	char **paths = NULL;
	int *fds;
	size_t n = 0;
	int ret, marked = 0;

	ret = sentlog_find(database, &paths, &n);
	if (ret != 0 || n == 0) {
		free(paths);
		return ret;
	}
	fds = xcalloc(n, sizeof(*fds));
	ret = db_begin(db);
	for (size_t i = 0; ret >= 0 && i < n; i++) {
		/* Locked until removed: a file still locked is another
		 * daemon's, alive on this database, and stays its own. */
		fds[i] = sentlog_open_locked(paths[i], O_RDONLY);
		if (fds[i] == -EBUSY || fds[i] == -ENOENT) {
			if (fds[i] == -EBUSY)
				log_warnx("sentlog %s: in use by a running "
					  "familymaild, left alone",
				    paths[i]);
			continue;
		}
		ret = fds[i] < 0 ? fds[i] : sentlog_apply_file(paths[i], o);
		if (ret > 0)
			marked += ret;
	}
	if (ret >= 0)
		ret = db_commit(db);
	if (ret < 0) {
		db_rollback(db);
		log_warnx("sentlog replay failed: %s", strerror(-ret));
	} else if (marked > 0) {
		log_notice("sentlog marked %d messages sent, accepted before "
			   "the last stop",
		    marked);
	}
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0) {
			if (ret >= 0 && unlink(paths[i]) != 0)
				log_warn("sentlog %s: cannot remove", paths[i]);
			close(fds[i]);
		}
		free(paths[i]);
	}
	free(fds);
	free(paths);
	return ret < 0 ? ret : marked;
}
