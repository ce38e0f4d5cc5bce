/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * testutil: helpers shared by the Check programs (see testutil.h).
 */
#include "config.h"

#include "testutil.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "migrate.h"
#include "util.h"

char *
tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	path = xasprintf("%s/familymail-test.XXXXXX", base);
	if (mkdtemp(path) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int
tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
tu_env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

const char *
tu_srcdir(void)
{
	return tu_env_or("TOP_SRCDIR", "..");
}

const char *
tu_builddir(void)
{
	return tu_env_or("TOP_BUILDDIR", "..");
}

const char *
tu_shared_dir(void)
{
	static char *fallback;
	const char *env = getenv("SHARED_DIR");

	if (env != NULL && *env != '\0')
		return env;
	if (fallback == NULL)
		fallback = xasprintf("%s/../shared", tu_srcdir());
	return fallback;
}

char *
tu_write_file(const char *dir, const char *name, const char *s)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		abort();
	}
	if (fputs(s, f) == EOF || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

char *
tu_read_file(const char *path, size_t *len)
{
	struct buf b;

	buf_init(&b);
	if (util_read_file(path, (size_t)1 << 30, &b) != 0) {
		buf_fini(&b);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return buf_take(&b);
}

int
tu_count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

struct sqlite3 *
tu_db_new(const char *dir)
{
	char *path = xasprintf("%s/familymail.db", dir);
	sqlite3 *db;

	ck_assert_int_eq(db_open(path, true, &db), 0);
	ck_assert_int_ge(migrate_run(db), 0);
	free(path);
	return db;
}

void
tu_sql(struct sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		ck_abort_msg("sql failed: %s: %s", err, sql);
}

char *
tu_sql_text(struct sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *s;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		ck_abort_msg("sql failed: %s: %s", sqlite3_errmsg(db), sql);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		s = xstrdup((const char *)sqlite3_column_text(st, 0));
	else
		s = xstrdup("");
	sqlite3_finalize(st);
	return s;
}

long long
tu_sql_int(struct sqlite3 *db, const char *sql)
{
	char *s = tu_sql_text(db, sql);
	long long v = strtoll(s, NULL, 10);

	free(s);
	return v;
}

const char *
tu_user(void)
{
	static char *name;
	struct passwd *pw;

	if (name == NULL) {
		pw = getpwuid(geteuid());
		if (pw == NULL) {
			fprintf(stderr, "no user name for uid %u\n",
			    (unsigned)geteuid());
			abort();
		}
		name = xstrdup(pw->pw_name);
	}
	return name;
}

/* v, or def when v is NULL. */
static const char *
tu_or(const char *v, const char *def)
{
	return v != NULL ? v : def;
}

/* "key = value\n" to b, unless value is "". */
static void
tu_config_line(struct buf *b, const char *key, const char *value)
{
	if (*value != '\0')
		buf_printf(b, "%s = %s\n", key, value);
}

char *
tu_config_text(const struct tu_config *c)
{
	static const struct tu_config common;
	char *templates = xasprintf("%s/templates", tu_srcdir());
	const char *transport;
	struct buf b;

	if (c == NULL)
		c = &common;
	transport = tu_or(c->transport, "maildir");
	buf_init(&b);
	buf_puts(&b, "[daemon]\n");
	tu_config_line(&b, "database", tu_or(c->database, "familymail.db"));
	tu_config_line(&b, "templates", tu_or(c->templates, templates));
	tu_config_line(&b, "timezone", tu_or(c->timezone, "Europe/London"));
	tu_config_line(&b, "log_level", tu_or(c->log_level, "debug"));
	buf_puts(&b, tu_or(c->daemon_extra, ""));
	tu_config_line(&b, "user", tu_or(c->user, tu_user()));
	buf_puts(&b, "\n[sender]\n");
	tu_config_line(
	    &b, "from", tu_or(c->from, "Family Courses <courses@example.org>"));
	tu_config_line(
	    &b, "reply_to", tu_or(c->reply_to, "bookings@example.org"));
	tu_config_line(&b, "bounce_domain",
	    tu_or(c->bounce_domain, "bounces.example.org"));
	buf_printf(&b, "\n[transport]\ntype = %s\n", transport);
	if (strcmp(transport, "maildir") == 0)
		buf_printf(&b, "\n[maildir]\npath = %s\n",
		    tu_or(c->maildir, "Maildir"));
	if (c->sections != NULL && *c->sections != '\0')
		buf_printf(&b, "\n%s", c->sections);
	free(templates);
	return buf_take(&b);
}

char *
tu_write_config(const char *dir, const char *name, const struct tu_config *c)
{
	char *text = tu_config_text(c);
	char *path = tu_write_file(dir, name, text);

	free(text);
	return path;
}

/* Whether argv0 names one of the programs FM_VALGRIND wraps. */
static bool
tu_is_ours(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base == NULL ? argv0 : base + 1;
	return strcmp(base, "familymaild") == 0 ||
	    strcmp(base, "familymail") == 0;
}

void
tu_execv(char *const argv[])
{
	const char *wrap = getenv("FM_VALGRIND");
	char *words, *w, *save = NULL, **full;
	size_t n = 0, argc = 0;

	if (wrap == NULL || *wrap == '\0' || !tu_is_ours(argv[0])) {
		execv(argv[0], argv);
		return;
	}
	while (argv[argc] != NULL)
		argc++;
	/* At most one word per two characters, plus argv and the NULL. */
	full = xcalloc(strlen(wrap) / 2 + 2 + argc, sizeof(*full));
	words = xstrdup(wrap);
	for (w = strtok_r(words, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save))
		full[n++] = w;
	for (size_t i = 0; i < argc; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	execvp(full[0], full);
	free(words);
	free(full);
}

int
tu_timeout_ms(int ms)
{
	const char *v = getenv("CK_TIMEOUT_MULTIPLIER");
	char *end;
	double f;

	if (v == NULL || *v == '\0')
		return ms;
	f = strtod(v, &end);
	if (*end != '\0' || !(f > 1.0) || f > 1000.0)
		return ms;
	return (int)(ms * f);
}

int
tu_spawn(char *const argv[], const char *log_path)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1) {
		perror("fork");
		abort();
	}
	if (pid == 0) {
		if (log_path != NULL) {
			fd =
			    open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd != -1) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
				close(fd);
			}
		}
		tu_execv(argv);
		perror(argv[0]);
		_exit(127);
	}
	return (int)pid;
}

void
tu_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
tu_wait(int pid, int timeout_ms)
{
	int status, waited = 0;
	pid_t r;

	timeout_ms = tu_timeout_ms(timeout_ms);
	for (;;) {
		r = waitpid((pid_t)pid, &status, WNOHANG);
		if (r == (pid_t)pid)
			break;
		if (waited >= timeout_ms) {
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, &status, 0);
			return -1;
		}
		tu_sleep_ms(10);
		waited += 10;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int
tu_run_cmd(char *const argv[], const char *log_path, int timeout_ms)
{
	return tu_wait(tu_spawn(argv, log_path), timeout_ms);
}

char *
tu_db_text(const char *path, const char *sql)
{
	sqlite3 *db;
	char *s;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	s = tu_sql_text(db, sql);
	db_close(db);
	return s;
}

long long
tu_db_int(const char *path, const char *sql)
{
	sqlite3 *db;
	long long v;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	v = tu_sql_int(db, sql);
	db_close(db);
	return v;
}

int
tu_daemon_once(
    const char *conf, const char *now, const char *log_path, int timeout_ms)
{
	char *daemon = xasprintf("%s/src/familymaild", tu_builddir());
	char *argv[] = { daemon, (char *)"-c", (char *)conf, (char *)"--once",
		(char *)"--now", (char *)now, NULL };
	int ret = tu_run_cmd(argv, log_path, timeout_ms);

	free(daemon);
	return ret;
}

/* A port the kernel picks for TCP on 127.0.0.1 that UDP can bind too,
 * or 0 when UDP cannot. */
static int
tu_free_port_try(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), u, p;

	ck_assert_int_ge(t, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(t, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(t, (struct sockaddr *)&a, &len), 0);
	p = ntohs(a.sin_port);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(u, 0);
	if (bind(u, (struct sockaddr *)&a, sizeof(a)) != 0)
		p = 0;
	close(u);
	close(t);
	return p;
}

int
tu_free_port(void)
{
	int p = 0;

	/* A DNS server needs both; a UDP port in use is rare, so a few
	 * tries find one. */
	for (int tries = 0; p == 0 && tries < 10; tries++)
		p = tu_free_port_try();
	ck_assert_int_ne(p, 0);
	return p;
}

bool
tu_port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	ck_assert_int_ge(fd, 0);
	up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return up;
}

bool
tu_wait_listening(int port, int *pid, int ms)
{
	for (int w = 0; w < tu_timeout_ms(ms); w += 50) {
		if (tu_port_open(port))
			return true;
		if (waitpid(*pid, NULL, WNOHANG) != 0) {
			*pid = 0;
			return false;
		}
		tu_sleep_ms(50);
	}
	return false;
}

bool
tu_has_line(const char *text, const char *const *words)
{
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		char *line =
		    nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		const char *at = line;

		for (size_t i = 0; at != NULL && words[i] != NULL; i++) {
			at = strstr(at, words[i]);
			if (at != NULL)
				at += strlen(words[i]);
		}
		free(line);
		if (at != NULL)
			return true;
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

char *
tu_find_python(const char *code)
{
	const char *path = getenv("PATH"), *candidates[2];
	char *argv[4], *found = NULL, *dirs, *save = NULL, *d;

	candidates[0] = getenv("PYTHON3");
	candidates[1] = "/usr/bin/python3";
	argv[1] = (char *)"-c";
	argv[2] = (char *)code;
	argv[3] = NULL;
	for (size_t i = 0; found == NULL && i < 2; i++) {
		if (candidates[i] == NULL || access(candidates[i], X_OK) != 0)
			continue;
		argv[0] = (char *)candidates[i];
		if (tu_run_cmd(argv, "/dev/null", 30000) == 0)
			found = xstrdup(candidates[i]);
	}
	dirs = xstrdup(path != NULL ? path : "");
	for (d = strtok_r(dirs, ":", &save); found == NULL && d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/python3", d);

		argv[0] = p;
		if (access(p, X_OK) == 0 &&
		    tu_run_cmd(argv, "/dev/null", 30000) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}
