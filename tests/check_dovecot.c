/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_dovecot: familymaild --once against a real Dovecot (Debian's
 * dovecot-imapd and dovecot-pop3d), started by each test on 127.0.0.1
 * with free ports, a throwaway config, a passwd-file and a certificate
 * made with openssl at test time. The mailbox holds a bounce, a human
 * reply and an auto-reply; after a run the bounce is processed (marked
 * \Seen, moved to another folder, or deleted) and the other two are
 * exactly as they were. The
 * test skips (exit 77) when dovecot is not installed.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "db.h"
#include "testutil.h"
#include "util.h"

#define DOVECOT "/usr/sbin/dovecot"
#define NOW     "2026-11-23T09:00:00Z"

enum {
	PORT_IMAP,
	PORT_IMAPS,
	PORT_POP3,
	PORT_POP3S,
	N_PORTS
};

static char *dir, *mailbox, *log_path, *cert;
static int ports[N_PORTS];
static int dovecot_pid;
/* Appended to dovecot.conf by setup(). */
static const char *dovecot_extra = "";

static void
mkdir_in(const char *sub, uid_t uid, gid_t gid)
{
	char *p = xasprintf("%s/%s", dir, sub);

	ck_assert_int_eq(mkdir(p, 0700), 0);
	if (getuid() == 0)
		ck_assert_int_eq(chown(p, uid, gid), 0);
	free(p);
}

/* Puts a test message into the mailbox's new/ as name. */
static void
deliver(const char *name, const char *data_name, uid_t uid, gid_t gid)
{
	char *src =
	    xasprintf("%s/tests/data/bounce/%s", tu_srcdir(), data_name);
	char *s = tu_read_file(src, NULL);
	char *sub = xasprintf("%s/new", mailbox);
	char *path;

	ck_assert_ptr_nonnull(s);
	path = tu_write_file(sub, name, s);
	if (getuid() == 0)
		ck_assert_int_eq(chown(path, uid, gid), 0);
	free(path);
	free(sub);
	free(src);
	free(s);
}

static void
setup(void)
{
	const struct passwd *me = getpwuid(getuid());
	const struct passwd *mail_user = me, *login_user = me;
	char *text, *key, *path, *out;
	int i;

	ck_assert_ptr_nonnull(me);
	if (getuid() == 0) {
		/* Dovecot refuses root for mail and login processes. */
		mail_user = getpwnam("dovecot");
		login_user = getpwnam("dovenull");
		ck_assert_msg(mail_user != NULL && login_user != NULL,
		    "users dovecot and dovenull missing");
	}
	dir = tu_mkdtemp();
	/* The auth process (user dovecot) reads the passwd-file here. */
	ck_assert_int_eq(chmod(dir, 0711), 0);
	cert = xasprintf("%s/cert.pem", dir);
	key = xasprintf("%s/key.pem", dir);
	out = xasprintf("%s/openssl.log", dir);
	{
		char *argv[] = { (char *)"openssl", (char *)"req",
			(char *)"-x509", (char *)"-newkey", (char *)"ec",
			(char *)"-pkeyopt",
			(char *)"ec_paramgen_curve:prime256v1",
			(char *)"-nodes", (char *)"-keyout", key,
			(char *)"-out", cert, (char *)"-days", (char *)"2",
			(char *)"-subj", (char *)"/CN=127.0.0.1",
			(char *)"-addext",
			(char *)"subjectAltName=IP:127.0.0.1", NULL };
		char *argv0 = xstrdup("/usr/bin/openssl");

		argv[0] = argv0;
		ck_assert_int_eq(tu_run_cmd(argv, out, 20000), 0);
		free(argv0);
	}
	free(out);
	free(tu_write_file(dir, "passwd", "bounces:{PLAIN}s3cret::::::\n"));
	path = tu_write_file(dir, "imap-password", "s3cret\n");
	ck_assert_int_eq(chmod(path, 0600), 0);
	free(path);
	mkdir_in("mail", mail_user->pw_uid, mail_user->pw_gid);
	mkdir_in("home", mail_user->pw_uid, mail_user->pw_gid);
	mkdir_in("mail/bounces", mail_user->pw_uid, mail_user->pw_gid);
	mkdir_in("mail/bounces/new", mail_user->pw_uid, mail_user->pw_gid);
	mkdir_in("mail/bounces/cur", mail_user->pw_uid, mail_user->pw_gid);
	mkdir_in("mail/bounces/tmp", mail_user->pw_uid, mail_user->pw_gid);
	mailbox = xasprintf("%s/mail/bounces", dir);
	deliver("1795330000.M1P1.test", "postfix-dsn.eml", mail_user->pw_uid,
	    mail_user->pw_gid);
	deliver("1795330001.M2P1.test", "human-reply.eml", mail_user->pw_uid,
	    mail_user->pw_gid);
	deliver("1795330002.M3P1.test", "autoreply.eml", mail_user->pw_uid,
	    mail_user->pw_gid);

	for (i = 0; i < N_PORTS; i++)
		ports[i] = tu_free_port();
	text = xasprintf(
	    "base_dir = %1$s/run\n"
	    "state_dir = %1$s/state\n"
	    "log_path = %1$s/dovecot.log\n"
	    "protocols = imap pop3\n"
	    "listen = 127.0.0.1\n"
	    "ssl = yes\n"
	    "ssl_cert = <%2$s\n"
	    "ssl_key = <%3$s\n"
	    "disable_plaintext_auth = no\n"
	    "auth_mechanisms = plain\n"
	    "passdb {\n  driver = passwd-file\n"
	    "  args = scheme=PLAIN username_format=%%u %1$s/passwd\n}\n"
	    "userdb {\n  driver = static\n"
	    "  args = uid=%4$u gid=%5$u home=%1$s/home\n}\n"
	    "mail_location = maildir:%1$s/mail/%%u\n"
	    "first_valid_uid = 0\nfirst_valid_gid = 0\n"
	    "default_internal_user = %6$s\n"
	    "default_internal_group = %6$s\n"
	    "default_login_user = %7$s\n"
	    "pop3_uidl_format = %%08Xu%%08Xv\n"
	    "service anvil {\n  chroot =\n}\n"
	    "service imap-login {\n  chroot =\n"
	    "  inet_listener imap {\n    address = 127.0.0.1\n"
	    "    port = %8$d\n  }\n"
	    "  inet_listener imaps {\n    address = 127.0.0.1\n"
	    "    port = %9$d\n    ssl = yes\n  }\n}\n"
	    "service pop3-login {\n  chroot =\n"
	    "  inet_listener pop3 {\n    address = 127.0.0.1\n"
	    "    port = %10$d\n  }\n"
	    "  inet_listener pop3s {\n    address = 127.0.0.1\n"
	    "    port = %11$d\n    ssl = yes\n  }\n}\n%12$s",
	    dir, cert, key, (unsigned)mail_user->pw_uid,
	    (unsigned)mail_user->pw_gid,
	    getuid() == 0 ? "dovecot" : me->pw_name, login_user->pw_name,
	    ports[PORT_IMAP], ports[PORT_IMAPS], ports[PORT_POP3],
	    ports[PORT_POP3S], dovecot_extra);
	path = tu_write_file(dir, "dovecot.conf", text);
	free(text);
	free(key);
	log_path = xasprintf("%s/daemon.log", dir);
	{
		/* The message the DSN answers (its envelope
		 * bounces+a1B2c3D4@): a report acts only on our own
		 * messages. */
		sqlite3 *db = tu_db_new(dir);

		tu_sql(db,
		    "INSERT INTO messages (id, dedupe_key, kind, recipient,"
		    " state, verp_token, created_at, next_attempt_at,"
		    " updated_at, sent_at) VALUES (7, 'test:7',"
		    " 'booking_confirmation', 'nobody-here@example.net',"
		    " 'sent', 'a1b2c3d4', '" NOW "', '" NOW "', '" NOW
		    "', '" NOW "')");
		db_close(db);
	}
	{
		char *argv[] = { (char *)DOVECOT, (char *)"-F", (char *)"-c",
			path, NULL };
		char *dlog = xasprintf("%s/dovecot.out", dir);

		dovecot_pid = tu_spawn(argv, dlog);
		free(dlog);
	}
	free(path);
	for (i = 0; i < 100 &&
	     !(tu_port_open(ports[PORT_IMAPS]) &&
		 tu_port_open(ports[PORT_POP3S]));
	     i++)
		tu_sleep_ms(50);
	ck_assert_msg(i < 100, "dovecot did not start (see %s)", dir);
}

/* A server that offers neither MOVE nor UIDPLUS. */
static void
setup_without_move(void)
{
	dovecot_extra = "protocol imap {\n"
			"  imap_capability = IMAP4rev1 LITERAL+ SASL-IR "
			"LOGIN-REFERRALS ID ENABLE IDLE\n}\n";
	setup();
}

static void
teardown(void)
{
	dovecot_extra = "";
	if (dovecot_pid > 0) {
		kill(dovecot_pid, SIGTERM);
		tu_wait(dovecot_pid, 10000);
	}
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(mailbox);
	free(log_path);
	free(cert);
}

/* Runs familymaild --once on source with extra [bounces] keys. */
static int
run_once(const char *source, const char *extra)
{
	char *daemon_path = xasprintf("%s/src/familymaild", tu_builddir());
	char *sections = xasprintf("[bounces]\nsource = %s\n"
				   "password_file = imap-password\n%s",
	    source, extra);
	struct tu_config c = { .timezone = "",
		.reply_to = "",
		.bounce_domain = "",
		.maildir = "Outbox",
		.sections = sections };
	char *conf = tu_write_config(dir, "familymail.conf", &c);
	char *argv[] = { daemon_path, (char *)"-c", conf, (char *)"--once",
		(char *)"--now", (char *)NOW, NULL };
	int ret = tu_run_cmd(argv, log_path, 30000);

	free(conf);
	free(sections);
	free(daemon_path);
	return ret;
}

/* The Maildir flags of the message in the Maildir md whose file name
 * starts with name: "" while in new/, the letters after ":2," in cur/;
 * NULL when gone. The caller frees. */
static char *
flags_in(const char *md, const char *name)
{
	const char *subs[] = { "new", "cur" };
	char *found = NULL;
	size_t i, n = strlen(name);

	for (i = 0; i < 2 && found == NULL; i++) {
		char *p = xasprintf("%s/%s", md, subs[i]);
		DIR *d = opendir(p);
		struct dirent *e;

		ck_assert_msg(d != NULL, "%s: %s", p, strerror(errno));
		while ((e = readdir(d)) != NULL) {
			const char *f;

			if (strncmp(e->d_name, name, n) != 0)
				continue;
			f = strstr(e->d_name, ":2,");
			found = xstrdup(f != NULL ? f + 3 : "");
			break;
		}
		closedir(d);
		free(p);
	}
	return found;
}

/* The same in the folder read (INBOX). */
static char *
flags_of(const char *name)
{
	return flags_in(mailbox, name);
}

/* The number of messages in the Maildir md (new/ and cur/). */
static int
count_in(const char *md)
{
	char *p = xasprintf("%s/new", md);
	int n = tu_count_files(p);

	free(p);
	p = xasprintf("%s/cur", md);
	n += tu_count_files(p);
	free(p);
	return n;
}

static long long
db_count(const char *sql)
{
	char *path = xasprintf("%s/familymail.db", dir);
	sqlite3 *db;
	long long n;

	ck_assert_int_eq(db_open(path, false, &db), 0);
	n = tu_sql_int(db, sql);
	db_close(db);
	free(path);
	return n;
}

/* The human reply and the auto-reply are there, neither read nor
 * deleted. */
static void
assert_others_untouched(void)
{
	const char *names[] = { "1795330001.M2P1.test",
		"1795330002.M3P1.test" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *f = flags_of(names[i]);

		ck_assert_msg(f != NULL, "%s is gone", names[i]);
		ck_assert_msg(strchr(f, 'S') == NULL && strchr(f, 'T') == NULL,
		    "%s flagged %s", names[i], f);
		free(f);
	}
}

static void
assert_bounce_recorded(void)
{
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces WHERE"
				  " recipient = 'nobody-here@example.net'"
				  " AND class = 'hard'"),
	    1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM suppressions WHERE"
				  " email = 'nobody-here@example.net'"
				  " AND reason = 'hard_bounce'"),
	    1);
}

START_TEST(test_dovecot_imaps_marks_bounce_seen_and_leaves_the_rest)
{
	char *src =
	    xasprintf("imaps://bounces@127.0.0.1:%d/INBOX", ports[PORT_IMAPS]);
	char *f, *log;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, ""), 0);
	log = tu_read_file(log_path, NULL);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_msg(f != NULL && strchr(f, 'S') != NULL, "%s", log);
	free(f);
	free(log);
	assert_others_untouched();
	assert_bounce_recorded();
	/* A second run finds nothing new to record. */
	ck_assert_int_eq(run_once(src, ""), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces"), 1);
	assert_others_untouched();
	free(src);
}
END_TEST

START_TEST(test_dovecot_imap_starttls_deletes_bounce_when_configured)
{
	char *src =
	    xasprintf("imap://bounces@127.0.0.1:%d/INBOX", ports[PORT_IMAP]);
	char *f, *log;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, "delete = yes\n"), 0);
	log = tu_read_file(log_path, NULL);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_msg(f == NULL, "bounce still there: %s", log);
	free(log);
	assert_others_untouched();
	assert_bounce_recorded();
	free(src);
}
END_TEST

START_TEST(test_dovecot_imaps_moves_bounce_to_the_configured_folder)
{
	char *src =
	    xasprintf("imaps://bounces@127.0.0.1:%d/INBOX", ports[PORT_IMAPS]);
	/* Dovecot's Maildir++ layout: a folder is a dot-folder. */
	char *processed = xasprintf("%s/.Processed", mailbox);
	char *f, *log;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, "folder = Processed\n"), 0);
	log = tu_read_file(log_path, NULL);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_msg(f == NULL, "bounce still in INBOX (%s): %s", f, log);
	ck_assert_int_eq(count_in(mailbox), 2);
	/* The folder was created and holds the bounce. */
	ck_assert_msg(access(processed, F_OK) == 0, "no folder: %s", log);
	ck_assert_int_eq(count_in(processed), 1);
	free(log);
	assert_others_untouched();
	assert_bounce_recorded();
	/* A second run: the folder already exists, and the two left in
	 * INBOX are still not moved, flagged or recorded. */
	ck_assert_int_eq(run_once(src, "folder = Processed\n"), 0);
	ck_assert_int_eq(count_in(mailbox), 2);
	ck_assert_int_eq(count_in(processed), 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces"), 1);
	assert_others_untouched();
	free(processed);
	free(src);
}
END_TEST

START_TEST(test_dovecot_without_move_copies_bounce_and_flags_it_deleted)
{
	char *src =
	    xasprintf("imaps://bounces@127.0.0.1:%d/INBOX", ports[PORT_IMAPS]);
	char *processed = xasprintf("%s/.Processed", mailbox);
	char *f, *log;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, "folder = Processed\n"), 0);
	log = tu_read_file(log_path, NULL);
	/* Without UIDPLUS an EXPUNGE could take what others flagged: the
	 * original stays, flagged deleted, beside its copy. */
	ck_assert_msg(count_in(processed) == 1, "no copy: %s", log);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_msg(f != NULL && strchr(f, 'T') != NULL,
	    "bounce in INBOX flagged '%s': %s", f != NULL ? f : "(gone)", log);
	free(f);
	free(log);
	assert_others_untouched();
	assert_bounce_recorded();
	/* The flagged original is not read, nor copied, again. */
	ck_assert_int_eq(run_once(src, "folder = Processed\n"), 0);
	ck_assert_int_eq(count_in(processed), 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces"), 1);
	assert_others_untouched();
	free(processed);
	free(src);
}
END_TEST

START_TEST(test_dovecot_pop3s_deletes_bounce_and_leaves_the_rest)
{
	char *src =
	    xasprintf("pop3s://bounces@127.0.0.1:%d", ports[PORT_POP3S]);
	char *f, *log;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, "delete = yes\n"), 0);
	log = tu_read_file(log_path, NULL);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_msg(f == NULL, "bounce still there: %s", log);
	free(log);
	assert_others_untouched();
	assert_bounce_recorded();
	free(src);
}
END_TEST

START_TEST(test_dovecot_pop3_kept_bounce_is_recorded_once)
{
	char *src = xasprintf("pop3://bounces@127.0.0.1:%d", ports[PORT_POP3]);
	char *f;

	setenv("SSL_CERT_FILE", cert, 1);
	ck_assert_int_eq(run_once(src, ""), 0);
	ck_assert_int_eq(run_once(src, ""), 0);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_ptr_nonnull(f);
	free(f);
	assert_others_untouched();
	assert_bounce_recorded();
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces"), 1);
	free(src);
}
END_TEST

START_TEST(test_dovecot_untrusted_certificate_is_refused_before_login)
{
	char *src =
	    xasprintf("imaps://bounces@127.0.0.1:%d/INBOX", ports[PORT_IMAPS]);
	char *f, *log;

	/* The test certificate is in no trust store. */
	unsetenv("SSL_CERT_FILE");
	ck_assert_int_eq(run_once(src, "delete = yes\n"), 0);
	log = tu_read_file(log_path, NULL);
	ck_assert_msg(strstr(log, "not trusted") != NULL, "%s", log);
	free(log);
	f = flags_of("1795330000.M1P1.test");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f, "");
	free(f);
	assert_others_untouched();
	ck_assert_int_eq(db_count("SELECT count(*) FROM bounces"), 0);
	free(src);
}
END_TEST

static Suite *
dovecot_suite(void)
{
	Suite *s = suite_create("dovecot");
	TCase *tc = tcase_create("dovecot");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_dovecot_imaps_marks_bounce_seen_and_leaves_the_rest);
	tcase_add_test(
	    tc, test_dovecot_imap_starttls_deletes_bounce_when_configured);
	tcase_add_test(
	    tc, test_dovecot_imaps_moves_bounce_to_the_configured_folder);
	tcase_add_test(
	    tc, test_dovecot_pop3s_deletes_bounce_and_leaves_the_rest);
	tcase_add_test(tc, test_dovecot_pop3_kept_bounce_is_recorded_once);
	tcase_add_test(
	    tc, test_dovecot_untrusted_certificate_is_refused_before_login);
	suite_add_tcase(s, tc);
	tc = tcase_create("dovecot without MOVE");
	tcase_add_checked_fixture(tc, setup_without_move, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, test_dovecot_without_move_copies_bounce_and_flags_it_deleted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (access(DOVECOT, X_OK) != 0) {
		printf(
		    "check_dovecot: SKIP: %s not installed (Debian packages "
		    "dovecot-imapd and dovecot-pop3d; contrib/install-deps.sh "
		    "--tests)\n",
		    DOVECOT);
		return 77;
	}
	return tu_run(dovecot_suite());
}
