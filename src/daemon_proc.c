/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon_proc: see daemon_proc.h.
 */
#include "config.h"

#include "daemon_proc.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cfg.h"
#include "log.h"
#include "util.h"

/*
 * Started as root, the daemon becomes [daemon] user (and its groups) for
 * good, before anything is opened, so that the database, the Maildir and
 * every later reload belong to it. Without that key it refuses to start:
 * a daemon that reads mail from anyone must not run as root by accident.
 * "user = root" is the explicit way to do so anyway. Started as anyone
 * else, it runs as itself. Returns the exit status: 0 to go on,
 * CFG_EX_CONFIG without the key, 1 when the switch fails (logged).
 */
static int
daemon_proc_switch_user(const struct cfg *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (cfg->user == NULL) {
		log_errx("daemon refusing to run as root: set [daemon] user "
			 "(the account to run as) in %s",
		    cfg->path);
		return CFG_EX_CONFIG;
	}
	errno = 0;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_errx("config %s: [daemon] user %s: no such user", cfg->path,
		    cfg->user);
		return 1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("daemon running as root, as [daemon] user = %s in %s "
			  "asks",
		    cfg->user, cfg->path);
		return 0;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_at(LOG_LEVEL_ERR, true, "daemon cannot become user %s",
		    cfg->user);
		return 1;
	}
	/* Check it cannot come back. */
	if (setuid(0) == 0) {
		log_errx("daemon could become root again after switching to "
			 "%s; refusing to run",
		    cfg->user);
		return 1;
	}
	log_info("daemon running as user=%s uid=%u", pw->pw_name,
	    (unsigned)pw->pw_uid);
	return 0;
}

int
daemon_proc_become_user(const char *path)
{
	char *errors = NULL;
	struct cfg *cfg;
	int code;

	if (geteuid() != 0)
		return 0;
	cfg = cfg_load(path, &errors);
	if (cfg == NULL) {
		fputs(errors != NULL ? errors : "config: unknown error\n",
		    stderr);
		free(errors);
		return CFG_EX_CONFIG;
	}
	log_init(cfg->log_level);
	code = daemon_proc_switch_user(cfg);
	cfg_free(cfg);
	return code;
}

int
daemon_proc_lock(const char *database, int *lock_fd)
{
	char *path = xasprintf("%s.lock", database), pid[32] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		log_warn("daemon cannot open %s", path);
		free(path);
		return 1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0)
					 : -1;
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (errno == EWOULDBLOCK || n >= 0)
			log_errx("another familymaild (pid %s) is using %s",
			    pid[0] != '\0' ? pid : "?", database);
		else
			log_warn("daemon cannot lock %s", path);
		close(fd);
		free(path);
		return n >= 0 ? DAEMON_PROC_EX_TEMPFAIL : 1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("daemon cannot write its pid into %s", path);
	free(path);
	*lock_fd = fd;
	return 0;
}

int
daemon_proc_detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

void
daemon_proc_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}
