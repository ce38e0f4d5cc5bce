/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_dkim: DKIM signing as a receiver sees it. familymaild writes
 * every kind of message into a Maildir, signed with a fresh RSA-2048 key
 * and a second, Ed25519 key; an independent verifier (dkimpy, Debian's
 * python3-dkim, tests/dkim_verify.py) checks each signature with the
 * public keys handed to it through its DNS hook. Also: the signature
 * breaks when From or List-Unsubscribe is changed or a second From is
 * added; a key rotated on disk is used after SIGHUP; check-config
 * refuses unusable keys and a domain that does not align with From.
 *
 * Without a python3 that has dkim (and nacl, for Ed25519) the program
 * is skipped (77) and says why.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "buf.h"
#include "cfg.h"
#include "db.h"
#include "dkimkey.h"
#include "send/dkimsign.h"
#include "send/dkimsign_int.h"
#include "testutil.h"
#include "util.h"

#define NOW "2026-11-23T09:00:00Z"

static char *python; /* a python3 that imports dkim and nacl */
static char *dir, *conf, *log_path, *maildir_new, *rsa_key, *ed_key;

/* Writes a new private key to dir/name, readable by its owner only:
 * RSA of bits bits, or Ed25519 when bits is 0, or EC when bits is -1.
 * Returns the path. */
static char *
make_key(const char *name, int bits)
{
	char *path = xasprintf("%s/%s", dir, name);
	EVP_PKEY *k;
	FILE *f;

	if (bits > 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else if (bits == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(k);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	EVP_PKEY_free(k);
	return path;
}

/* The public key of the key file at path as a verifier finds it in
 * DNS: "SELECTOR._domainkey.example.org v=DKIM1; k=...; p=...\n". */
static char *
dns_line(const char *selector, const char *path)
{
	struct dkimkey *k;
	char *why = NULL, *rec, *line;

	ck_assert_msg(dkimkey_load(path, &k, &why) == 0, "%s: %s", path, why);
	rec = dkimkey_record(k);
	line = xasprintf("%s._domainkey.example.org %s\n", selector, rec);
	free(rec);
	dkimkey_free(k);
	return line;
}

/* A keys file for dkim_verify.py naming the RSA key at rsa (selector
 * fm2026) and, when ed is not NULL, the Ed25519 key (fm2026e). */
static char *
keys_file(const char *name, const char *rsa, const char *ed)
{
	char *a = dns_line("fm2026", rsa);
	char *b = ed != NULL ? dns_line("fm2026e", ed) : xstrdup("");
	char *text = xasprintf("%s%s", a, b), *path;

	path = tu_write_file(dir, name, text);
	free(a);
	free(b);
	free(text);
	return path;
}

/* The config: maildir transport, the copied templates, [dkim] with the
 * two keys, and extra (more sections) at the end. */
static char *
write_config(const char *extra)
{
	char *sections = xasprintf("[dkim]\n"
				   "domain = example.org\n"
				   "selector = fm2026\n"
				   "key_file = rsa.pem\n"
				   "ed25519_selector = fm2026e\n"
				   "ed25519_key_file = ed.pem\n"
				   "%s",
	    extra);
	struct tu_config c = { .templates = "templates", .sections = sections };
	char *path = tu_write_config(dir, "familymail.conf", &c);

	free(sections);
	return path;
}

/* Links to unsubscribe, which subscriber mail needs (with the secret
 * write_secret() puts in place). */
#define UNSUBSCRIBE                                         \
	"\n[unsubscribe]\n"                                 \
	"url = https://example.org/unsubscribe?t={token}\n" \
	"mailto = unsubscribe@example.org\n"                \
	"secret_file = secret\n"

static void
write_secret(void)
{
	char *path = tu_write_file(
	    dir, "secret", "tL5Hd0mQ2wYJ8xVb3RkN6sEp9uCf1gZa4iOq7yWe0Ts=");

	ck_assert_int_eq(chmod(path, 0600), 0);
	free(path);
}

static void
setup(void)
{
	char *src = xasprintf("%s/templates", tu_srcdir());
	char *copy, *path, *sql;
	sqlite3 *db;

	dir = tu_mkdtemp();
	copy = xasprintf("%s/templates", dir);
	{
		char *cp[] = { (char *)"/bin/cp", (char *)"-R", src, copy,
			NULL };

		ck_assert_int_eq(tu_run_cmd(cp, NULL, 10000), 0);
	}
	free(src);
	free(copy);
	log_path = xasprintf("%s/run.log", dir);
	maildir_new = xasprintf("%s/Maildir/new", dir);
	rsa_key = make_key("rsa.pem", 2048);
	ed_key = make_key("ed.pem", 0);
	conf = write_config("");
	db = tu_db_new(dir);
	path = xasprintf("%s/tests/data/e2e/bookings.sql", tu_srcdir());
	sql = tu_read_file(path, NULL);
	tu_sql(db, sql);
	free(sql);
	free(path);
	db_close(db);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(conf);
	free(log_path);
	free(maildir_new);
	free(rsa_key);
	free(ed_key);
}

/* The files of Maildir/new, sorted, as a NULL-terminated array of
 * paths (free with free_list()). */
static char **
maildir_files(int *count)
{
	struct dirent **names;
	char **files;
	int n, k = 0;

	n = scandir(maildir_new, &names, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	files = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			files[k++] =
			    xasprintf("%s/%s", maildir_new, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	*count = k;
	return files;
}

static void
free_list(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/* Runs dkim_verify.py with keys over files; returns its exit status and
 * its output in *out (newly allocated). */
static int
verify(const char *keys, char **files, char **out)
{
	char *script = xasprintf("%s/tests/dkim_verify.py", tu_srcdir());
	char *vlog = xasprintf("%s/verify.log", dir);
	char **argv;
	size_t n = 0;
	int rc;

	while (files[n] != NULL)
		n++;
	argv = xcalloc(n + 4, sizeof(char *));
	argv[0] = python;
	argv[1] = script;
	argv[2] = (char *)keys;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = files[i];
	unlink(vlog);
	rc = tu_run_cmd(argv, vlog, 60000);
	*out = tu_read_file(vlog, NULL);
	ck_assert_ptr_nonnull(*out);
	free(argv);
	free(script);
	free(vlog);
	return rc;
}

static int
count_lines_with(const char *text, const char *word)
{
	int n = 0;

	for (const char *p = strstr(text, word); p != NULL;
	     p = strstr(p + 1, word))
		n++;
	return n;
}

/* The header block of a message as the Maildir holds it (LF line
 * ends), up to the first empty line; newly allocated. */
static char *
header_block(const char *msg)
{
	const char *end = strstr(msg, "\n\n");

	ck_assert_ptr_nonnull(end);
	return xstrndup(msg, (size_t)(end - msg) + 1);
}

/* One message of every kind (tests/data/e2e/every_kind.sql). */
static void
queue_every_kind(void)
{
	char *path = xasprintf("%s/familymail.db", dir);
	char *data = xasprintf("%s/tests/data/e2e/every_kind.sql", tu_srcdir());
	char *sql = tu_read_file(data, NULL);
	sqlite3 *db;

	ck_assert_ptr_nonnull(sql);
	ck_assert_int_eq(db_open(path, false, &db), 0);
	tu_sql(db, sql);
	db_close(db);
	free(sql);
	free(data);
	free(path);
}

/* Templates that test the canonicalisation: a subject long enough to
 * be folded, in Welsh with its accents, and a body whose lines start
 * with dots (quoted-printable writes them "=2E", so that no line of
 * the message starts with one and SMTP's dot-stuffing never touches
 * the signed text). */
static void
write_hard_templates(void)
{
	char *kind = xasprintf("%s/templates/booking_confirmation", dir);

	free(tu_write_file(kind, "subject.mustache",
	    "Cadarnhad o’ch lle ar {{course.title}}: croeso cynnes i chi, "
	    "gweler y manylion isod a’r dyddiad yn eich calendr "
	    "({{booking.reference}})\n"));
	free(tu_write_file(kind, "text.mustache",
	    "Annwyl {{delegate.first_name}},\n"
	    ".Mae’r llinell hon yn dechrau â dot.\n"
	    "..A dwy.\n"
	    ".\n"
	    "Cyfeirnod: {{booking.reference}}\n"));
	free(kind);
}

START_TEST(test_dkim_every_kind_of_message_verifies_with_dkimpy)
{
	char *keys = keys_file("keys.txt", rsa_key, ed_key), *out, *msg, *h;
	char **files;
	int n, rc;

	write_hard_templates();
	free(conf);
	conf = write_config(UNSUBSCRIBE);
	write_secret();
	queue_every_kind();
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log_path, 30000), 0);
	files = maildir_files(&n);
	ck_assert_int_eq(n, 8);
	rc = verify(keys, files, &out);
	ck_assert_msg(rc == 0, "%s", out);
	/* Two signatures on each message, both good. */
	ck_assert_int_eq(
	    count_lines_with(out, "a=rsa-sha256 s=fm2026 pass"), 8);
	ck_assert_int_eq(
	    count_lines_with(out, "a=ed25519-sha256 s=fm2026e pass"), 8);
	ck_assert_int_eq(count_lines_with(out, "fail"), 0);
	free(out);
	/* The hard cases are among them: a folded subject in encoded
	 * words, body lines that start with a dot. */
	{
		bool hard = false;

		for (int i = 0; i < n; i++) {
			msg = tu_read_file(files[i], NULL);
			h = header_block(msg);
			hard |=
			    strstr(h, "Subject: Cadarnhad =?UTF-8?") != NULL &&
			    strstr(h, "\n cynnes i chi") != NULL &&
			    strstr(msg, "\n=2EMae=E2=80=99r") != NULL;
			free(h);
			free(msg);
		}
		ck_assert(hard);
	}
	free_list(files);
	free(keys);
}
END_TEST

START_TEST(test_dkim_headers_follow_the_kind_of_mail)
{
	char **files;
	int n, digests = 0, optins = 0, bookings = 0;

	free(conf);
	conf = write_config(UNSUBSCRIBE);
	write_secret();
	queue_every_kind();
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log_path, 30000), 0);
	files = maildir_files(&n);
	ck_assert_int_eq(n, 8);
	for (int i = 0; i < n; i++) {
		char *msg = tu_read_file(files[i], NULL),
		     *h = header_block(msg);

		/* Every message: auto-replies kept quiet. */
		ck_assert_ptr_nonnull(
		    strstr(h, "\nAuto-Submitted: auto-generated\n"));
		ck_assert_ptr_nonnull(
		    strstr(h, "\nX-Auto-Response-Suppress: OOF, AutoReply\n"));
		if (strstr(h, "\nTo: Rhian") != NULL) {
			digests++;
			ck_assert_ptr_nonnull(
			    strstr(h, "\nList-Id: <courses.example.org>\n"));
			ck_assert_ptr_nonnull(strstr(h,
			    "\nList-Unsubscribe-Post: "
			    "List-Unsubscribe=One-Click\n"));
			ck_assert_ptr_nonnull(
			    strstr(h, "\nPrecedence: bulk\n"));
			ck_assert_ptr_nonnull(strstr(h,
			    "\nFeedback-ID: weekly-2026-W48:blog_digest:"
			    "courses.example.org\n"));
			/* The signature covers the pair RFC 8058 names, and
			 * over-signs them. */
			ck_assert_ptr_nonnull(strstr(h, "List-Unsubscribe:"));
		} else if (strstr(h, "new@example.net") != NULL) {
			optins++;
			ck_assert_ptr_nonnull(strstr(h, "\nList-Id: "));
			ck_assert_ptr_nonnull(strstr(h, "\nList-Unsubscribe:"));
			ck_assert_ptr_null(strstr(h, "Precedence:"));
			ck_assert_ptr_null(strstr(h, "Feedback-ID:"));
		} else {
			bookings++;
			ck_assert_msg(strstr(h, "\nList-") == NULL &&
				strstr(h, "Precedence:") == NULL &&
				strstr(h, "Feedback-ID:") == NULL,
			    "booking mail with list headers: %s", h);
		}
		free(h);
		free(msg);
	}
	ck_assert_int_eq(digests, 1);
	ck_assert_int_eq(optins, 1);
	ck_assert_int_eq(bookings, 6);
	free_list(files);
}
END_TEST

/* Writes msg changed by edit: the text before the first occurrence of
 * old, then new, then the rest (old NULL: new prepended). */
static char *
tampered(const char *name, const char *msg, const char *old, const char *new)
{
	const char *at = old != NULL ? strstr(msg, old) : msg;
	char *text, *path;

	ck_assert_msg(at != NULL, "no '%s' in the message", old);
	text = xasprintf("%.*s%s%s", (int)(at - msg), msg, new,
	    at + (old != NULL ? strlen(old) : 0));
	path = tu_write_file(dir, name, text);
	free(text);
	return path;
}

START_TEST(test_dkim_signature_breaks_when_from_or_list_unsubscribe_change)
{
	char *keys = keys_file("keys.txt", rsa_key, ed_key), *out;
	char **files, *digest = NULL, *msg;
	int n;

	free(conf);
	conf = write_config(UNSUBSCRIBE);
	write_secret();
	queue_every_kind();
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log_path, 30000), 0);
	files = maildir_files(&n);
	for (int i = 0; i < n && digest == NULL; i++) {
		msg = tu_read_file(files[i], NULL);
		if (strstr(msg, "\nPrecedence: bulk\n") != NULL)
			digest = msg;
		else
			free(msg);
	}
	ck_assert_ptr_nonnull(digest);
	{
		char *cases[][2] = {
			{ tampered("intact.eml", digest, "", ""), "pass" },
			{ tampered("from.eml", digest,
			      "From: Family Courses <courses@example.org>",
			      "From: Family Courses <courses@example.net>"),
			    "fail" },
			{ tampered("unsub.eml", digest,
			      "<https://example.org/unsubscribe?t=",
			      "<https://evil.example/unsubscribe?t="),
			    "fail" },
			{ tampered("second-from.eml", digest, "\nDate: ",
			      "\nFrom: Help Desk <help@example.org>"
			      "\nDate: "),
			    "fail" },
			{ tampered("second-unsub.eml", digest, "\nDate: ",
			      "\nList-Unsubscribe: "
			      "<https://evil.example/u>\nDate: "),
			    "fail" },
		};

		for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
			char *one[] = { cases[i][0], NULL };
			char *want = xasprintf(
			    "0 a=rsa-sha256 s=fm2026 %s", cases[i][1]);
			char *want_ed = xasprintf(
			    "1 a=ed25519-sha256 s=fm2026e %s", cases[i][1]);

			verify(keys, one, &out);
			ck_assert_msg(strstr(out, want) != NULL &&
				strstr(out, want_ed) != NULL,
			    "%s: %s", cases[i][0], out);
			free(out);
			free(want);
			free(want_ed);
			free(cases[i][0]);
		}
	}
	free(digest);
	free_list(files);
	free(keys);
}
END_TEST

/* Starts argv (output to log) with its stdin a pipe whose write end is
 * *fd: smtp_server.py runs until its stdin closes, so closing *fd stops
 * it, and so does this process ending, however it ends (a test run
 * with no stdin would stop it at once). Returns the pid. */
static int
spawn_with_stdin(char *const argv[], const char *log, int *fd)
{
	int fds[2], out;
	pid_t pid;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (out != -1) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	*fd = fds[1];
	return (int)pid;
}

START_TEST(test_dkim_signatures_survive_smtp)
{
	char *keys = keys_file("keys.txt", rsa_key, ed_key), *out;
	char *script =
	    xasprintf("%s/tests/servers/smtp_server.py", tu_srcdir());
	char *outdir = xasprintf("%s/received", dir);
	char *port_file = xasprintf("%s/smtp.port", dir);
	char *srv_log = xasprintf("%s/smtp.log", dir), *text, *extra;
	char *argv[] = { python, script, (char *)"--outdir", outdir,
		(char *)"--port-file", port_file, (char *)"--pipelining",
		NULL };
	char *files[16] = { NULL };
	long port = 0;
	int pid, n = 0, stdin_fd;

	ck_assert_int_eq(mkdir(outdir, 0700), 0);
	pid = spawn_with_stdin(argv, srv_log, &stdin_fd);
	for (int waited = 0; port == 0 && waited < tu_timeout_ms(15000);
	     waited += 20) {
		text = tu_read_file(port_file, NULL);
		if (text != NULL) {
			text[strcspn(text, "\n")] = '\0';
			ck_assert_int_eq(
			    util_parse_long(text, 1, 65535, &port), 0);
			free(text);
		}
		tu_sleep_ms(20);
	}
	ck_assert_msg(port > 0, "smtp_server.py did not start");
	write_hard_templates();
	extra = xasprintf(
	    "\n[smtp]\nurl = smtp://127.0.0.1:%ld\ntls = off\n" UNSUBSCRIBE,
	    port);
	write_secret();
	free(conf);
	conf = write_config(extra);
	free(extra);
	{
		/* The same config, over SMTP. */
		char *t = tu_read_file(conf, NULL);
		char *at = strstr(t, "type = maildir"), *smtp;

		ck_assert_ptr_nonnull(at);
		smtp = xasprintf("%.*stype = smtp%s", (int)(at - t), t,
		    at + strlen("type = maildir"));
		free(tu_write_file(dir, "familymail.conf", smtp));
		free(smtp);
		free(t);
	}
	queue_every_kind();
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log_path, 30000), 0);
	close(stdin_fd);
	ck_assert_int_eq(tu_wait(pid, 10000), 0);
	/* What arrived: the envelope lines, a blank line, the data. */
	for (int i = 1; i <= 8; i++) {
		char *path = xasprintf("%s/msg-%06d", outdir, i);
		char *rec = tu_read_file(path, NULL), *body;

		if (rec == NULL) {
			char *dlog = tu_read_file(log_path, NULL);
			char *slog = tu_read_file(srv_log, NULL);

			ck_abort_msg("%s missing\ndaemon: %s\nserver: %s", path,
			    dlog != NULL ? dlog : "", slog != NULL ? slog : "");
		}
		body = strstr(rec, "\n\n");
		ck_assert_ptr_nonnull(body);
		{
			char name[32];

			(void)snprintf(name, sizeof(name), "data-%d.eml", i);
			files[n] = tu_write_file(dir, name, body + 2);
		}
		n++;
		free(rec);
		free(path);
	}
	ck_assert_int_eq(verify(keys, files, &out), 0);
	ck_assert_int_eq(count_lines_with(out, "pass"), 16);
	free(out);
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(keys);
	free(script);
	free(outdir);
	free(port_file);
	free(srv_log);
}
END_TEST

/* Messages familymail would never build, signed straight through
 * dkimsign_message(): white space at line ends and in runs, folded
 * fields with tabs, a field repeated, empty lines (some of white
 * space) at the end of the body, and an empty body. Both signatures
 * must verify. (A body without a final CRLF is left out: SMTP cannot
 * carry one, mime_build() never makes one, and verifiers disagree on
 * it.) */
static const char *const msgs[] = {
	"From: Family Courses <courses@example.org>\r\n"
	"To:   someone@example.net  \r\n"
	"Subject: \t a subject\r\n\t folded  with\ttabs \r\n"
	"Received: one\r\nReceived: two\r\n"
	"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
	"Message-ID: <a@example.org>\r\n"
	"\r\n"
	"  leading   and trailing   \t\r\n"
	".a dot\r\n"
	"\r\n"
	"text\r\n"
	"\r\n"
	"\r\n",
	"From: courses@example.org\r\n"
	"Subject: white space on the empty lines at the end\r\n"
	"\r\n"
	"last line  \r\n"
	"  \r\n"
	"\t\r\n",
	"From: courses@example.org\r\n"
	"Subject: empty body\r\n"
	"\r\n",
};

START_TEST(test_dkim_signs_messages_with_odd_white_space)
{
	char *keys = keys_file("keys.txt", rsa_key, ed_key), *out, *why = NULL;
	char *files[UTIL_ARRAY_LEN(msgs) + 1] = { NULL };
	struct cfg *cfg = cfg_new_defaults(dir);
	struct dkimsign *signer;

	cfg->dkim_domain = xstrdup("example.org");
	cfg->dkim_selector = xstrdup("fm2026");
	cfg->dkim_key_file = xstrdup(rsa_key);
	cfg->dkim_ed25519_selector = xstrdup("fm2026e");
	cfg->dkim_ed25519_key_file = xstrdup(ed_key);
	ck_assert_msg(dkimsign_load(cfg, &signer, &why) == 0, "%s", why);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(msgs); i++) {
		struct buf b;
		char name[32];

		buf_init(&b);
		buf_puts(&b, msgs[i]);
		ck_assert_int_eq(dkimsign_message(signer, &b, &why), 0);
		buf_putc(&b, '\0');
		(void)snprintf(name, sizeof(name), "odd-%zu.eml", i);
		files[i] = tu_write_file(dir, name, b.data);
		buf_fini(&b);
	}
	ck_assert_int_eq(verify(keys, files, &out), 0);
	ck_assert_int_eq(count_lines_with(out, " pass"), 6);
	free(out);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(msgs); i++)
		free(files[i]);
	dkimsign_free(signer);
	cfg_free(cfg);
	free(keys);
}
END_TEST

/* One signer with the key file at path alone. */
static struct dkimsign *
signer_with(const char *path)
{
	struct cfg *cfg = cfg_new_defaults(dir);
	struct dkimsign *signer;
	char *why = NULL;

	cfg->dkim_domain = xstrdup("example.org");
	cfg->dkim_selector = xstrdup("fm2026");
	cfg->dkim_key_file = xstrdup(path);
	ck_assert_msg(dkimsign_load(cfg, &signer, &why) == 0, "%s", why);
	cfg_free(cfg);
	return signer;
}

/* libopendkim, which checks each key at every load, passes every
 * signature made of the odd messages, and fails each one once a body
 * byte or the From field is changed, or with another key published. */
START_TEST(test_dkim_libopendkim_passes_our_signatures_and_fails_forgeries)
{
	const char *paths[] = { rsa_key, ed_key };
	char *records[2];

	for (int k = 0; k < 2; k++) {
		struct dkimkey *key;
		char *why = NULL;

		ck_assert_int_eq(dkimkey_load(paths[k], &key, &why), 0);
		records[k] = dkimkey_record(key);
		dkimkey_free(key);
	}
	for (int k = 0; k < 2; k++) {
		struct dkimsign *signer = signer_with(paths[k]);

		for (size_t i = 0; i < UTIL_ARRAY_LEN(msgs); i++) {
			struct buf b;
			char *why = NULL, *at;

			buf_init(&b);
			buf_puts(&b, msgs[i]);
			ck_assert_int_eq(dkimsign_message(signer, &b, &why), 0);
			ck_assert_msg(
			    dkimsign_verify(&b, records[k], &why) == 0,
			    "key %d message %zu: %s", k, i, why);
			/* Published: the other key. */
			ck_assert_int_ne(
			    dkimsign_verify(&b, records[1 - k], &why), 0);
			ck_assert_ptr_nonnull(why);
			free(why);
			/* Forged From. */
			buf_putc(&b, '\0');
			at = strstr(b.data, "From: ");
			ck_assert_ptr_nonnull(at);
			at[6] = 'X';
			b.len--;
			ck_assert_int_ne(
			    dkimsign_verify(&b, records[k], &why), 0);
			free(why);
			at[6] = msgs[i][6];
			/* A changed body (the last line of text). */
			if (i < 2) {
				buf_putc(&b, '\0');
				at = strstr(b.data, "\r\n\r\n");
				at = strstr(at, "t");
				ck_assert_ptr_nonnull(at);
				*at = 'T';
				b.len--;
				ck_assert_int_ne(
				    dkimsign_verify(&b, records[k], &why), 0);
				ck_assert_msg(strstr(why, "body hash") != NULL,
				    "%s", why);
				free(why);
			}
			buf_fini(&b);
		}
		dkimsign_free(signer);
	}
	free(records[0]);
	free(records[1]);
}
END_TEST

static int
wait_for_files(int want, int timeout_ms)
{
	int n = 0;

	timeout_ms = tu_timeout_ms(timeout_ms);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		n = tu_count_files(maildir_new);
		if (n >= want)
			return n;
		tu_sleep_ms(50);
	}
	return n;
}

START_TEST(test_dkim_key_rotated_on_disk_is_used_after_sighup)
{
	char *daemon = xasprintf("%s/src/familymaild", tu_builddir());
	char *argv[] = { daemon, (char *)"-f", (char *)"-c", conf,
		(char *)"--now", (char *)NOW, NULL };
	char *old_keys = keys_file("old.txt", rsa_key, ed_key);
	char *db_path = xasprintf("%s/familymail.db", dir), *out, *newer;
	char **files, *last[2] = { NULL, NULL };
	sqlite3 *db;
	int pid, n;

	pid = tu_spawn(argv, log_path);
	ck_assert_int_eq(wait_for_files(3, 10000), 3);
	/* The administrator puts a new key in place of the old one, then
	 * reloads. */
	newer = make_key("rsa-new.pem", 2048);
	ck_assert_int_eq(rename(newer, rsa_key), 0);
	kill(pid, SIGHUP);
	tu_sleep_ms(300);
	ck_assert_int_eq(db_open(db_path, false, &db), 0);
	tu_sql(db,
	    "INSERT INTO bookings (id, course_id, delegate_id, "
	    "reference, created_at) VALUES (7, 2, 5, 'FC-1007', "
	    "'2026-11-23T09:05:00Z')");
	db_close(db);
	ck_assert_int_eq(wait_for_files(4, 5000), 4);
	kill(pid, SIGTERM);
	ck_assert_int_eq(tu_wait(pid, 2000), 0);
	files = maildir_files(&n);
	ck_assert_int_eq(n, 4);
	/* The first three verify with the old key and not the new; the
	 * one sent after the reload the other way round. */
	{
		char *new_keys = keys_file("new.txt", rsa_key, ed_key);
		char *first[] = { files[0], files[1], files[2], NULL };

		for (int i = 0; i < n; i++) {
			char *msg = tu_read_file(files[i], NULL);

			if (strstr(msg, "FC-1007") != NULL) {
				last[0] = files[i];
				first[0] = files[(i + 1) % 4];
				first[1] = files[(i + 2) % 4];
				first[2] = files[(i + 3) % 4];
			}
			free(msg);
		}
		ck_assert_ptr_nonnull(last[0]);
		ck_assert_int_eq(verify(old_keys, first, &out), 0);
		ck_assert_int_eq(count_lines_with(out, "s=fm2026 pass"), 3);
		free(out);
		ck_assert_int_ne(verify(new_keys, first, &out), 0);
		ck_assert_int_eq(count_lines_with(out, "s=fm2026 fail"), 3);
		free(out);
		ck_assert_int_eq(verify(new_keys, last, &out), 0);
		ck_assert_int_eq(count_lines_with(out, "s=fm2026 pass"), 1);
		free(out);
		ck_assert_int_ne(verify(old_keys, last, &out), 0);
		ck_assert_int_eq(count_lines_with(out, "s=fm2026 fail"), 1);
		free(out);
		free(new_keys);
	}
	free_list(files);
	free(old_keys);
	free(db_path);
	free(newer);
	free(daemon);
}
END_TEST

/* check-config's verdict on the config with [dkim] made of lines. */
static int
check_config(const char *dkim_lines, char **output)
{
	char *fm = xasprintf("%s/src/familymail", tu_builddir());
	char *sections = xasprintf("[dkim]\n%s", dkim_lines);
	struct tu_config c = { .timezone = "",
		.log_level = "",
		.user = "",
		.reply_to = "",
		.bounce_domain = "",
		.sections = sections };
	char *path = tu_write_config(dir, "check.conf", &c);
	char *argv[] = { fm, (char *)"-c", path, (char *)"check-config", NULL };
	int rc;

	unlink(log_path);
	rc = tu_run_cmd(argv, log_path, 10000);
	*output = tu_read_file(log_path, NULL);
	free(fm);
	free(sections);
	free(path);
	return rc;
}

START_TEST(test_dkim_check_config_refuses_unusable_keys_naming_the_line)
{
	char *weak = make_key("weak.pem", 1024), *ec = make_key("ec.pem", -1);
	char *open_key = make_key("open.pem", 2048), *out, *want;
	char *pub = xasprintf("%s/public.pem", dir);
	const struct {
		const char *lines;
		int line;
		const char *key, *file, *problem;
	} cases[] = {
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = missing.pem\n",
		    17, "key_file", "missing.pem",
		    "No such file or directory" },
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = open.pem\n",
		    17, "key_file", "open.pem",
		    "readable by group or others (chmod 600 it)" },
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = weak.pem\n",
		    17, "key_file", "weak.pem",
		    "an RSA key of 1024 bits (2048 or more are needed)" },
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = public.pem\n",
		    17, "key_file", "public.pem",
		    "a public key, not the private key" },
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = ec.pem\n",
		    17, "key_file", "ec.pem",
		    "an EC key (DKIM signs with RSA or Ed25519)" },
		{ "domain = example.org\nselector = fm2026\n"
		  "key_file = rsa.pem\ned25519_selector = fm2026e\n"
		  "ed25519_key_file = rsa.pem\n",
		    19, "ed25519_key_file", "rsa.pem",
		    "an RSA key (ed25519_key_file takes an Ed25519 key)" },
	};

	ck_assert_int_eq(chmod(open_key, 0640), 0);
	{
		struct dkimkey *k;
		char *why = NULL, *rec, *pem;

		ck_assert_int_eq(dkimkey_load(rsa_key, &k, &why), 0);
		rec = dkimkey_record(k);
		/* A PEM public key, as someone might copy the wrong half. */
		pem = xasprintf("-----BEGIN PUBLIC KEY-----\n%s\n"
				"-----END PUBLIC KEY-----\n",
		    strstr(rec, "p=") + 2);
		free(tu_write_file(dir, "public.pem", pem));
		ck_assert_int_eq(chmod(pub, 0600), 0);
		free(pem);
		free(rec);
		dkimkey_free(k);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		ck_assert_int_eq(check_config(cases[i].lines, &out), 78);
		want = xasprintf("%s/check.conf:%d: [dkim] %s: %s/%s: %s\n",
		    dir, cases[i].line, cases[i].key, dir, cases[i].file,
		    cases[i].problem);
		ck_assert_msg(
		    strstr(out, want) != NULL, "want %s\ngot %s", want, out);
		free(want);
		free(out);
	}
	/* d= must be From's domain or a parent of it. */
	ck_assert_int_eq(check_config("domain = example.net\n"
				      "selector = fm2026\nkey_file = rsa.pem\n",
			     &out),
	    78);
	ck_assert_msg(strstr(out,
			  "check.conf:15: [dkim] domain: 'example.net' is not "
			  "aligned with [sender] from's domain example.org "
			  "(use example.org or a parent of it, or DMARC "
			  "ignores the signature)\n") != NULL,
	    "%s", out);
	free(out);
	/* A key needs its selector. */
	ck_assert_int_eq(check_config("domain = example.org\n"
				      "key_file = rsa.pem\n",
			     &out),
	    78);
	ck_assert_msg(strstr(out,
			  "check.conf:14: [dkim] selector: required in "
			  "[dkim]\n") != NULL,
	    "%s", out);
	free(out);
	/* And a good one passes. */
	ck_assert_int_eq(check_config("domain = example.org\n"
				      "selector = fm2026\nkey_file = rsa.pem\n"
				      "ed25519_selector = fm2026e\n"
				      "ed25519_key_file = ed.pem\n",
			     &out),
	    0);
	free(out);
	free(weak);
	free(ec);
	free(open_key);
	free(pub);
}
END_TEST

static Suite *
dkim_suite(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("signing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, test_dkim_every_kind_of_message_verifies_with_dkimpy);
	tcase_add_test(tc, test_dkim_headers_follow_the_kind_of_mail);
	tcase_add_test(tc,
	    test_dkim_signature_breaks_when_from_or_list_unsubscribe_change);
	tcase_add_test(tc, test_dkim_signatures_survive_smtp);
	tcase_add_test(tc, test_dkim_signs_messages_with_odd_white_space);
	tcase_add_test(tc,
	    test_dkim_libopendkim_passes_our_signatures_and_fails_forgeries);
	tcase_add_test(
	    tc, test_dkim_check_config_refuses_unusable_keys_naming_the_line);
	suite_add_tcase(s, tc);
	/* A case of its own, for make check-valgrind: a reload frees one
	 * generation's keys and loads the next. */
	tc = tcase_create("rotation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_dkim_key_rotated_on_disk_is_used_after_sighup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	python = tu_find_python("import dkim, nacl, aiosmtpd.smtp");
	if (python == NULL) {
		printf("check_dkim: skipped: no python3 with dkim, nacl and "
		       "aiosmtpd (Debian: python3-dkim python3-nacl "
		       "python3-aiosmtpd)\n");
		return 77;
	}
	return tu_run(dkim_suite());
}
