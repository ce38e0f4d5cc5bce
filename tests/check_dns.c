/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check_dns: `familymail check-dns` against a real DNS server, Debian's
 * nsd, started on a free port of 127.0.0.1 with test zones under
 * .example (RFC 2606; .test would do as well, but libunbound answers
 * for it itself, RFC 6761), one for each situation an administrator
 * can be in: all
 * correct; the DKIM key missing; a DKIM key that is not the key file's;
 * SPF missing; DMARC missing; an envelope domain outside From's; no MX
 * for the bounce domain. Each test compares the lines printed, exactly,
 * and the exit status. No other address than 127.0.0.1 is queried.
 *
 * The same server publishes the keys for SpamAssassin (tests/sa_score.pl,
 * Debian's spamassassin and its DKIM plugin), which scores every default
 * message of each kind, once signed and once not: signed must score
 * lower. The scores are printed in the test's log.
 *
 * Without nsd the program is skipped (77) and says why.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"
#include "db.h"
#include "dkimkey.h"
#include "testutil.h"
#include "util.h"

#define NSD "/usr/sbin/nsd"

/* The server, shared by the tests (an unchecked fixture). */
static char *zones_dir, *nsd_log;
static int nsd_pid, nsd_port;
static char *key_pem, *ed_pem, *other_pem;

/* Per test. */
static char *dir, *out_path;

enum dns_zone_flags {
	ZONE_NO_DKIM = 1 << 0,
	ZONE_OTHER_KEY = 1 << 1,
	ZONE_NO_SPF = 1 << 2,
	ZONE_NO_DMARC = 1 << 3,
	ZONE_NO_MX = 1 << 4,
};

static char *
make_key(const char *base, const char *name, bool ed25519)
{
	char *path = xasprintf("%s/%s", base, name);
	EVP_PKEY *k = ed25519
	    ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	    : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	FILE *f = fopen(path, "w");

	if (k == NULL || f == NULL ||
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0 || chmod(path, 0600) != 0)
		abort();
	EVP_PKEY_free(k);
	return path;
}

/* The TXT record of the key at path. */
static char *
key_record(const char *path)
{
	struct dkimkey *k;
	char *why = NULL, *rec;

	if (dkimkey_load(path, &k, &why) != 0)
		abort();
	rec = dkimkey_record(k);
	dkimkey_free(k);
	return rec;
}

/* rec as the strings of a TXT record, at most 255 bytes each. */
static char *
zone_strings(const char *rec)
{
	size_t n = strlen(rec);
	struct buf b;

	buf_init(&b);
	for (size_t at = 0; at < n; at += 255)
		buf_printf(&b, "%s\"%.*s\"", at > 0 ? " " : "",
		    (int)(n - at < 255 ? n - at : 255), rec + at);
	return buf_take(&b);
}

/* Writes the zone of domain with what flags leave out, and returns the
 * nsd.conf lines that serve it. */
static char *
write_zone(const char *domain, unsigned flags)
{
	char *rsa =
	    key_record((flags & ZONE_OTHER_KEY) != 0 ? other_pem : key_pem);
	char *ed = key_record(ed_pem);
	char *rsa_txt = zone_strings(rsa), *ed_txt = zone_strings(ed);
	char *name = xasprintf("%s.zone", domain), *text;
	struct buf b;

	buf_init(&b);
	buf_printf(&b,
	    "$ORIGIN %s.\n$TTL 300\n"
	    "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n"
	    "@ IN NS ns\nns IN A 127.0.0.1\n"
	    "mx IN A 192.0.2.25\n",
	    domain, domain, domain);
	if ((flags & ZONE_NO_SPF) == 0)
		buf_printf(&b,
		    "@ IN TXT \"v=spf1 a:smtp.%s -all\"\n"
		    "bounces IN TXT \"v=spf1 a:smtp.%s -all\"\n",
		    domain, domain);
	else
		buf_puts(&b, "bounces IN TXT \"a note, not SPF\"\n");
	if ((flags & ZONE_NO_MX) == 0)
		buf_printf(&b, "bounces IN MX 10 mx.%s.\n", domain);
	if ((flags & ZONE_NO_DKIM) == 0)
		buf_printf(&b,
		    "fm2026._domainkey IN TXT %s\n"
		    "fm2026e._domainkey IN TXT %s\n",
		    rsa_txt, ed_txt);
	if ((flags & ZONE_NO_DMARC) == 0)
		buf_printf(&b,
		    "_dmarc IN TXT \"v=DMARC1; p=quarantine; "
		    "rua=mailto:dmarc@%s\"\n",
		    domain);
	free(tu_write_file(zones_dir, name, b.data));
	text = xasprintf("zone:\n  name: %s\n  zonefile: %s\n", domain, name);
	buf_fini(&b);
	free(name);
	free(rsa);
	free(ed);
	free(rsa_txt);
	free(ed_txt);
	return text;
}

static void
nsd_start(void)
{
	static const struct {
		const char *domain;
		unsigned flags;
	} zones[] = {
		{ "good.example", 0 },
		{ "nodkim.example", ZONE_NO_DKIM },
		{ "wrongkey.example", ZONE_OTHER_KEY },
		{ "nospf.example", ZONE_NO_SPF },
		{ "nodmarc.example", ZONE_NO_DMARC },
		{ "misaligned.example", 0 },
		{ "elsewhere.example", 0 },
		{ "nomx.example", ZONE_NO_MX },
	};
	char *conf, *log;
	struct buf b;

	zones_dir = tu_mkdtemp();
	nsd_log = xasprintf("%s/nsd.log", zones_dir);
	key_pem = make_key(zones_dir, "key.pem", false);
	ed_pem = make_key(zones_dir, "ed.pem", true);
	other_pem = make_key(zones_dir, "other.pem", false);
	/* Free for UDP and TCP; the race with other programs is harmless
	 * (nsd would fail to start, loudly). */
	nsd_port = tu_free_port();
	buf_init(&b);
	buf_printf(&b,
	    "server:\n"
	    "  ip-address: 127.0.0.1\n"
	    "  port: %d\n"
	    "  username: \"\"\n"
	    "  chroot: \"\"\n"
	    "  zonesdir: \"%s\"\n"
	    "  pidfile: \"%s/nsd.pid\"\n"
	    "  database: \"\"\n"
	    "  zonelistfile: \"%s/zone.list\"\n"
	    "  xfrdfile: \"%s/xfrd.state\"\n"
	    "  xfrdir: \"%s\"\n"
	    "  logfile: \"%s\"\n"
	    "  server-count: 1\n"
	    "  verbosity: 1\n"
	    "remote-control:\n"
	    "  control-enable: no\n",
	    nsd_port, zones_dir, zones_dir, zones_dir, zones_dir, zones_dir,
	    nsd_log);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(zones); i++) {
		char *z = write_zone(zones[i].domain, zones[i].flags);

		buf_puts(&b, z);
		free(z);
	}
	conf = tu_write_file(zones_dir, "nsd.conf", b.data);
	buf_fini(&b);
	{
		char *argv[] = { (char *)NSD, (char *)"-d", (char *)"-c", conf,
			NULL };

		nsd_pid = tu_spawn(argv, NULL);
	}
	for (int waited = 0; waited < tu_timeout_ms(10000); waited += 20) {
		log = tu_read_file(nsd_log, NULL);
		if (log != NULL && strstr(log, "nsd started") != NULL) {
			free(log);
			free(conf);
			return;
		}
		free(log);
		tu_sleep_ms(20);
	}
	log = tu_read_file(nsd_log, NULL);
	fprintf(stderr, "check_dns: nsd did not start: %s\n",
	    log != NULL ? log : "(no log)");
	abort();
}

static void
nsd_stop(void)
{
	if (nsd_pid > 0) {
		kill(nsd_pid, SIGTERM);
		tu_wait(nsd_pid, 10000);
	}
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(zones_dir);
	free(zones_dir);
	free(nsd_log);
	free(key_pem);
	free(ed_pem);
	free(other_pem);
}

static void
setup(void)
{
	dir = tu_mkdtemp();
	out_path = xasprintf("%s/out.txt", dir);
}

static void
teardown(void)
{
	if (getenv("KEEP_TEST_DIR") == NULL)
		tu_rmtree(dir);
	free(dir);
	free(out_path);
}

/* Runs check-dns for From at domain, the envelope at bounce_domain, and
 * [dkim] with the RSA key (and the Ed25519 one when ed25519). Returns
 * the exit status; *out is what it printed. */
static int
check_dns(
    const char *domain, const char *bounce_domain, bool ed25519, char **out)
{
	char *fm = xasprintf("%s/src/familymail", tu_builddir());
	char *resolver = xasprintf("127.0.0.1:%d", nsd_port);
	char *ed = ed25519 ? xasprintf("ed25519_selector = fm2026e\n"
				       "ed25519_key_file = %s\n",
				 ed_pem)
			   : xstrdup("");
	char *from = xasprintf("Family Courses <courses@%s>", domain);
	char *sections = xasprintf("[dkim]\n"
				   "domain = %s\n"
				   "selector = fm2026\n"
				   "key_file = %s\n"
				   "%s",
	    domain, key_pem, ed);
	struct tu_config c = { .timezone = "",
		.log_level = "",
		.user = "",
		.from = from,
		.reply_to = "",
		.bounce_domain = bounce_domain,
		.sections = sections };
	char *conf = tu_write_config(dir, "familymail.conf", &c);
	char *argv[] = { fm, (char *)"-c", conf, (char *)"check-dns",
		(char *)"--resolver", resolver, NULL };
	int rc;

	unlink(out_path);
	rc = tu_run_cmd(argv, out_path, 60000);
	*out = tu_read_file(out_path, NULL);
	ck_assert_ptr_nonnull(*out);
	free(fm);
	free(resolver);
	free(ed);
	free(from);
	free(sections);
	free(conf);
	return rc;
}

static int
count(const char *text, const char *word)
{
	int n = 0;

	for (const char *p = strstr(text, word); p != NULL;
	     p = strstr(p + 1, word))
		n++;
	return n;
}

/* The record check-dns should tell to publish for the key at path. */
static char *
publish(const char *name, const char *path)
{
	char *rec = key_record(path), *txt = zone_strings(rec);
	char *s = xasprintf("publish: %s. TXT %s\n", name, txt);

	free(rec);
	free(txt);
	return s;
}

START_TEST(test_check_dns_passes_a_correct_zone)
{
	char *out, *want;
	int rc = check_dns("good.example", "bounces.good.example", true, &out);

	want = xasprintf(
	    "ok   SPF of bounces.good.example (envelope sender): "
	    "\"v=spf1 a:smtp.good.example -all\"\n"
	    "ok   SPF of good.example (From): \"v=spf1 a:smtp.good.example -all\"\n"
	    "ok   DKIM key fm2026._domainkey.good.example: matches %s (rsa, "
	    "2048 bits)\n"
	    "ok   DKIM key fm2026e._domainkey.good.example: matches %s "
	    "(ed25519, 256 bits)\n"
	    "ok   DMARC _dmarc.good.example: \"v=DMARC1; p=quarantine; "
	    "rua=mailto:dmarc@good.example\"\n"
	    "ok   SPF alignment: bounces.good.example is within good.example, "
	    "From's organisational domain (relaxed)\n"
	    "ok   DKIM alignment: good.example is From's domain\n"
	    "ok   MX of bounces.good.example (bounces): 10 mx.good.example\n",
	    key_pem, ed_pem);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(rc, 0);
	free(want);
	free(out);
}
END_TEST

START_TEST(test_check_dns_prints_the_record_of_a_missing_dkim_key)
{
	char *out, *want, *pub;
	int rc =
	    check_dns("nodkim.example", "bounces.nodkim.example", false, &out);

	pub = publish("fm2026._domainkey.nodkim.example", key_pem);
	want =
	    xasprintf("FAIL DKIM key fm2026._domainkey.nodkim.example: no key "
		      "published; %s",
		pub);
	ck_assert_msg(strstr(out, want) != NULL, "want %s\ngot %s", want, out);
	ck_assert_int_eq(count(out, "FAIL"), 1);
	ck_assert_int_eq(rc, 1);
	free(pub);
	free(want);
	free(out);
}
END_TEST

START_TEST(test_check_dns_notices_a_dkim_key_that_does_not_match)
{
	char *out, *want, *pub;
	int rc = check_dns(
	    "wrongkey.example", "bounces.wrongkey.example", false, &out);

	pub = publish("fm2026._domainkey.wrongkey.example", key_pem);
	want =
	    xasprintf("FAIL DKIM key fm2026._domainkey.wrongkey.example: the "
		      "published key is not the public half of %s; %s",
		key_pem, pub);
	ck_assert_msg(strstr(out, want) != NULL, "want %s\ngot %s", want, out);
	ck_assert_int_eq(count(out, "FAIL"), 1);
	ck_assert_int_eq(rc, 1);
	free(pub);
	free(want);
	free(out);
}
END_TEST

START_TEST(test_check_dns_notices_spf_missing)
{
	char *out;
	int rc =
	    check_dns("nospf.example", "bounces.nospf.example", false, &out);

	ck_assert_msg(
	    strstr(out,
		"FAIL SPF of bounces.nospf.example (envelope sender): no SPF "
		"record; publish: bounces.nospf.example. TXT \"v=spf1 mx ~all\" "
		"(or the include: your mail provider documents)\n"
		"FAIL SPF of nospf.example (From): no SPF record; publish: "
		"nospf.example. TXT \"v=spf1 mx ~all\" (or the include: your mail "
		"provider documents)\n") != NULL,
	    "%s", out);
	ck_assert_int_eq(count(out, "FAIL"), 2);
	ck_assert_int_eq(rc, 1);
	free(out);
}
END_TEST

START_TEST(test_check_dns_notices_dmarc_missing)
{
	char *out;
	int rc = check_dns(
	    "nodmarc.example", "bounces.nodmarc.example", false, &out);

	ck_assert_msg(
	    strstr(out,
		"FAIL DMARC _dmarc.nodmarc.example: no DMARC record; "
		"publish: _dmarc.nodmarc.example. TXT \"v=DMARC1; "
		"p=none\" (add rua=mailto:ADDRESS for reports, and "
		"raise p= to quarantine once they are clean)\n") != NULL,
	    "%s", out);
	ck_assert_int_eq(count(out, "FAIL"), 1);
	ck_assert_int_eq(rc, 1);
	free(out);
}
END_TEST

START_TEST(test_check_dns_notices_an_envelope_outside_froms_domain)
{
	char *out;
	int rc = check_dns(
	    "misaligned.example", "bounces.elsewhere.example", false, &out);

	ck_assert_msg(
	    strstr(out,
		"FAIL SPF alignment: bounces.elsewhere.example is not "
		"within misaligned.example, From's organisational "
		"domain: DMARC cannot pass on it; set [sender] "
		"bounce_domain to a name under misaligned.example\n") != NULL,
	    "%s", out);
	/* The envelope domain itself is in order. */
	ck_assert_ptr_nonnull(strstr(out,
	    "ok   SPF of bounces.elsewhere.example (envelope sender): "
	    "\"v=spf1 a:smtp.elsewhere.example -all\"\n"));
	ck_assert_int_eq(count(out, "FAIL"), 1);
	ck_assert_int_eq(rc, 1);
	free(out);
}
END_TEST

START_TEST(test_check_dns_notices_no_mx_for_the_bounce_domain)
{
	char *out;
	int rc = check_dns("nomx.example", "bounces.nomx.example", false, &out);

	ck_assert_msg(
	    strstr(out,
		"FAIL MX of bounces.nomx.example (bounces): no MX or "
		"address record, so bounces cannot come back; "
		"publish: bounces.nomx.example. MX 10 HOST (the server "
		"whose mailbox [bounces] source reads)\n") != NULL,
	    "%s", out);
	ck_assert_int_eq(count(out, "FAIL"), 1);
	ck_assert_int_eq(rc, 1);
	free(out);
}
END_TEST

START_TEST(test_check_dns_refuses_a_resolver_that_is_not_an_address)
{
	char *fm = xasprintf("%s/src/familymail", tu_builddir());
	char *argv[] = { fm, (char *)"-c", (char *)"/nonexistent",
		(char *)"check-dns", (char *)"--resolver", (char *)"x:y:z",
		(char *)"extra", NULL };

	ck_assert_int_eq(tu_run_cmd(argv, out_path, 10000), 64);
	free(fm);
}
END_TEST

/* ------------------------------------------------ SpamAssassin */

#define NOW "2026-11-23T09:00:00Z"

/* Every default message, one of each kind, from good.example into
 * dir/sub/Maildir: signed with the zone's keys, or not at all. */
static void
send_every_kind(const char *sub, bool sign)
{
	char *base = xasprintf("%s/%s", dir, sub), *text, *conf, *log, *sql;
	char *dkim = sign ? xasprintf("\n[dkim]\ndomain = good.example\n"
				      "selector = fm2026\nkey_file = %s\n"
				      "ed25519_selector = fm2026e\n"
				      "ed25519_key_file = %s\n",
				key_pem, ed_pem)
			  : xstrdup("");
	const char *data[] = { "bookings.sql", "every_kind.sql" };
	struct sqlite3 *db;

	ck_assert_int_eq(mkdir(base, 0700), 0);
	text = tu_write_file(
	    base, "secret", "tL5Hd0mQ2wYJ8xVb3RkN6sEp9uCf1gZa4iOq7yWe0Ts=");
	ck_assert_int_eq(chmod(text, 0600), 0);
	free(text);
	text = xasprintf("[unsubscribe]\n"
			 "url = https://good.example/unsubscribe?t={token}\n"
			 "mailto = unsubscribe@good.example\n"
			 "secret_file = secret\n%s",
	    dkim);
	{
		struct tu_config c = { .timezone = "",
			.log_level = "",
			.from = "Family Courses <courses@good.example>",
			.reply_to = "bookings@good.example",
			.bounce_domain = "bounces.good.example",
			.sections = text };

		conf = tu_write_config(base, "familymail.conf", &c);
	}
	db = tu_db_new(base);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(data); i++) {
		char *path =
		    xasprintf("%s/tests/data/e2e/%s", tu_srcdir(), data[i]);

		sql = tu_read_file(path, NULL);
		ck_assert_ptr_nonnull(sql);
		tu_sql(db, sql);
		free(sql);
		free(path);
	}
	db_close(db);
	log = xasprintf("%s/daemon.log", base);
	ck_assert_int_eq(tu_daemon_once(conf, NOW, log, 30000), 0);
	free(log);
	free(conf);
	free(text);
	free(dkim);
	free(base);
}

/* The kind of the message in file, from the outbox of its run. */
static char *
kind_of(const char *file)
{
	char *msg = tu_read_file(file, NULL), *at, *id, *sql, *db, *kind;
	const char *slash;

	ck_assert_ptr_nonnull(msg);
	at = strstr(msg, "\nMessage-ID: <");
	ck_assert_ptr_nonnull(at);
	at += strlen("\nMessage-ID: <");
	id = xstrndup(at, strcspn(at, ">"));
	/* FILE is BASE/Maildir/new/NAME. */
	slash = strstr(file, "/Maildir/new/");
	db = xasprintf("%.*s/familymail.db", (int)(slash - file), file);
	sql =
	    xasprintf("SELECT kind FROM messages WHERE message_id = '%s'", id);
	kind = tu_db_text(db, sql);
	free(sql);
	free(db);
	free(id);
	free(msg);
	return kind;
}

START_TEST(test_spamassassin_scores_every_kind_lower_signed_than_unsigned)
{
	const char *kinds[] = { "booking_confirmation", "booking_cancelled",
		"course_cancelled", "course_reminder", "blog_digest",
		"subscription_confirm" };
	double signed_score[6] = { 0 }, unsigned_score[6] = { 0 };
	int seen_signed[6] = { 0 }, seen_unsigned[6] = { 0 };
	char *script = xasprintf("%s/tests/sa_score.pl", tu_srcdir());
	char *port = xasprintf("%d", nsd_port), *state, *sa_log, *out, *line;
	char *probe[] = { (char *)"/usr/bin/perl",
		(char *)"-MMail::SpamAssassin", (char *)"-e", (char *)"1",
		NULL };
	const char *subs[] = { "signed", "unsigned" };
	char **argv;
	size_t n = 0;

	ck_assert_msg(tu_run_cmd(probe, "/dev/null", 30000) == 0,
	    "perl cannot load Mail::SpamAssassin (Debian: spamassassin)");
	send_every_kind("signed", true);
	send_every_kind("unsigned", false);
	state = xasprintf("%s/sa-state", dir);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	argv = xcalloc(64, sizeof(char *));
	argv[n++] = (char *)"/usr/bin/perl";
	argv[n++] = script;
	argv[n++] = port;
	argv[n++] = state;
	for (size_t s = 0; s < 2; s++) {
		char *mdir = xasprintf("%s/%s/Maildir/new", dir, subs[s]);
		struct dirent **names;
		int k = scandir(mdir, &names, NULL, alphasort);

		ck_assert_int_eq(k, 10);
		for (int i = 0; i < k; i++) {
			if (names[i]->d_name[0] != '.')
				argv[n++] =
				    xasprintf("%s/%s", mdir, names[i]->d_name);
			free(names[i]);
		}
		free(names);
		free(mdir);
	}
	sa_log = xasprintf("%s/sa.log", dir);
	ck_assert_int_eq(tu_run_cmd(argv, sa_log, 120000), 0);
	out = tu_read_file(sa_log, NULL);
	ck_assert_ptr_nonnull(out);
	for (line = out; *line != '\0';) {
		char *eol = strchr(line, '\n'), *file, *kind, *sp;
		double score;

		ck_assert_ptr_nonnull(eol);
		*eol = '\0';
		sp = strchr(line, ' ');
		if (line[0] != '/' || sp == NULL) {
			/* SpamAssassin's own warnings, if any. */
			line = eol + 1;
			continue;
		}
		file = xstrndup(line, (size_t)(sp - line));
		score = strtod(sp + 1, NULL);
		kind = kind_of(file);
		for (size_t k = 0; k < UTIL_ARRAY_LEN(kinds); k++) {
			if (strcmp(kind, kinds[k]) != 0)
				continue;
			/* One of each kind is compared (bookings have
			 * several confirmations, all alike). */
			if (strstr(file, "/signed/") != NULL &&
			    seen_signed[k]++ == 0)
				signed_score[k] = score;
			else if (strstr(file, "/unsigned/") != NULL &&
			    seen_unsigned[k]++ == 0)
				unsigned_score[k] = score;
			printf("spamassassin: %s\n", line);
		}
		free(kind);
		free(file);
		line = eol + 1;
	}
	for (size_t k = 0; k < UTIL_ARRAY_LEN(kinds); k++) {
		ck_assert_msg(seen_signed[k] > 0 && seen_unsigned[k] > 0,
		    "no %s scored: %s", kinds[k], out);
		printf("spamassassin: %-20s signed %6.3f unsigned %6.3f\n",
		    kinds[k], signed_score[k], unsigned_score[k]);
		ck_assert_msg(signed_score[k] < unsigned_score[k],
		    "%s: signed %.3f, unsigned %.3f", kinds[k], signed_score[k],
		    unsigned_score[k]);
	}
	for (size_t i = 4; i < n; i++)
		free(argv[i]);
	free(argv);
	free(out);
	free(sa_log);
	free(state);
	free(port);
	free(script);
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("check-dns");

	tcase_add_unchecked_fixture(tc, nsd_start, nsd_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check_dns_passes_a_correct_zone);
	tcase_add_test(
	    tc, test_check_dns_prints_the_record_of_a_missing_dkim_key);
	tcase_add_test(
	    tc, test_check_dns_notices_a_dkim_key_that_does_not_match);
	tcase_add_test(tc, test_check_dns_notices_spf_missing);
	tcase_add_test(tc, test_check_dns_notices_dmarc_missing);
	tcase_add_test(
	    tc, test_check_dns_notices_an_envelope_outside_froms_domain);
	tcase_add_test(tc, test_check_dns_notices_no_mx_for_the_bounce_domain);
	tcase_add_test(
	    tc, test_check_dns_refuses_a_resolver_that_is_not_an_address);
	tcase_add_test(
	    tc, test_spamassassin_scores_every_kind_lower_signed_than_unsigned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (access(NSD, X_OK) != 0) {
		printf("check_dns: skipped: no %s (Debian: nsd)\n", NSD);
		return 77;
	}
	return tu_run(dns_suite());
}
