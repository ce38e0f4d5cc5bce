/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd_check_dns: `familymail -c FILE check-dns [--resolver ADDRESS]`.
 * Looks up what mailbox providers look up about familymail's mail and
 * prints one line per check, "ok   WHAT: what was found" or "FAIL WHAT:
 * what is wrong; publish: the record to publish instead":
 *
 *   - SPF (RFC 7208) of the envelope domain ([sender] bounce_domain) and,
 *     when it differs, of From's domain;
 *   - each DKIM key at SELECTOR._domainkey.DOMAIN, and whether it is the
 *     public half of the key file ([dkim]);
 *   - DMARC (RFC 7489) at _dmarc of From's domain or, failing that, of
 *     its organisational domain (the public suffix list, libpsl);
 *   - whether the envelope domain (SPF) and d= (DKIM) align with From,
 *     relaxed or strict as the DMARC record's aspf and adkim say;
 *   - an MX, or at least an address, for bounce_domain, so that bounces
 *     come back.
 *
 * Exit 0 when every check holds, 1 otherwise, 78 for a broken config.
 * It reads DNS only (send/ and the database are not touched); SPF is
 * checked for presence and shape, not evaluated against the relay's
 * address.
 */
#include "config.h"

#include <getopt.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "cfg_value.h"
#include "cmd/cmd.h"
#include "dkimkey.h"
#include "dns.h"
#include "util.h"

/* Longest character-string of a TXT record (RFC 1035 §3.3.14). */
#define CMD_CHECK_DNS_TXT_CHUNK 255

struct cmd_check_dns {
	const struct cfg *cfg;
	struct dns *dns;
	psl_ctx_t *psl;
	const char *from_domain;
	const char *org_domain; /* From's organisational domain */
	char *dmarc;            /* the DMARC record found, or NULL */
	int failed;
};

static void cmd_check_dns_line(
    struct cmd_check_dns *c, bool ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints one check's line; control characters from DNS become '?'. */
static void
cmd_check_dns_line(
    struct cmd_check_dns *c, bool ok, const char *what, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
			b.data[i] = '?';
	printf("%-4s %s: %s\n", ok ? "ok" : "FAIL", what,
	    b.data != NULL ? b.data : "");
	buf_fini(&b);
	if (!ok)
		c->failed++;
}

/* A TXT record's text as a zone file writes it: strings of at most 255
 * bytes, each quoted. Newly allocated. */
static char *
cmd_check_dns_zone_txt(const char *text)
{
	size_t n = strlen(text);
	struct buf b;

	buf_init(&b);
	for (size_t at = 0; at < n; at += CMD_CHECK_DNS_TXT_CHUNK) {
		size_t l = n - at < CMD_CHECK_DNS_TXT_CHUNK
		    ? n - at
		    : CMD_CHECK_DNS_TXT_CHUNK;

		buf_printf(
		    &b, "%s\"%.*s\"", at > 0 ? " " : "", (int)l, text + at);
	}
	return buf_take(&b);
}

/* Whether rec starts with tag (case-insensitive) followed by a space,
 * a ';' or its end: "v=spf1", "v=DMARC1". */
static bool
cmd_check_dns_has_version(const char *rec, const char *tag)
{
	size_t n = strlen(tag);

	while (*rec == ' ')
		rec++;
	return strncasecmp(rec, tag, n) == 0 &&
	    (rec[n] == '\0' || rec[n] == ' ' || rec[n] == ';');
}

/* The value of tag in a "tag=value; tag=value" record (DKIM, DMARC), or
 * NULL; newly allocated, spaces trimmed. */
static char *
cmd_check_dns_tag(const char *rec, const char *tag)
{
	size_t n = strlen(tag);
	const char *p = rec, *end;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if (strncasecmp(p, tag, n) == 0) {
			const char *v = p + n;

			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=') {
				v++;
				while (*v == ' ' || *v == '\t')
					v++;
				while (end > v &&
				    (end[-1] == ' ' || end[-1] == '\t'))
					end--;
				return xstrndup(v, (size_t)(end - v));
			}
		}
		p = end;
	}
	return NULL;
}

/* The SPF record to suggest: the relay's host when it is a named one,
 * else the domain's own MX hosts. */
static char *
cmd_check_dns_spf_hint(const struct cmd_check_dns *c)
{
	struct cfg_value_url u;
	char *why = NULL;
	bool named = c->cfg->transport == CFG_TRANSPORT_SMTP &&
	    c->cfg->smtp_url != NULL &&
	    cfg_value_split_url(c->cfg->smtp_url, &u, &why) == 0 &&
	    addr_is_domain(u.host) && !cfg_value_is_loopback(u.host);

	free(why);
	if (named)
		return xasprintf("v=spf1 a:%s ~all", u.host);
	return xstrdup("v=spf1 mx ~all");
}

static void
cmd_check_dns_spf(struct cmd_check_dns *c, const char *domain, const char *role)
{
	char **recs = NULL, *why = NULL, *what, *hint;
	size_t n = 0, found = 0, which = 0;

	what = xasprintf("SPF of %s (%s)", domain, role);
	if (dns_txt(c->dns, domain, &recs, &n, &why) != 0) {
		cmd_check_dns_line(c, false, what, "look-up failed: %s", why);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (cmd_check_dns_has_version(recs[i], "v=spf1")) {
			found++;
			which = i;
		}
	hint = cmd_check_dns_spf_hint(c);
	if (found == 0)
		cmd_check_dns_line(c, false, what,
		    "no SPF record; publish: %s. TXT \"%s\" (or the include: "
		    "your mail provider documents)",
		    domain, hint);
	else if (found > 1)
		cmd_check_dns_line(c, false, what,
		    "%zu SPF records, which receivers treat as an error "
		    "(permerror); publish one, merging them",
		    found);
	else if (strstr(recs[which], " +all") != NULL ||
	    strstr(recs[which], " all") != NULL)
		cmd_check_dns_line(c, false, what,
		    "\"%s\" lets any host send as %s; publish: %s. TXT \"%s\"",
		    recs[which], domain, domain, hint);
	else
		cmd_check_dns_line(c, true, what, "\"%s\"", recs[which]);
	free(hint);
out:
	free(why);
	free(what);
	dns_strings_free(recs, n);
}

static void
cmd_check_dns_dkim_key(
    struct cmd_check_dns *c, const char *selector, const char *path)
{
	char **recs = NULL, *why = NULL, *what, *name, *want, *zone;
	struct dkimkey *key = NULL;
	size_t n = 0, found = 0, which = 0;

	name = xasprintf("%s._domainkey.%s", selector, c->cfg->dkim_domain);
	what = xasprintf("DKIM key %s", name);
	if (dkimkey_load(path, &key, &why) != 0) {
		cmd_check_dns_line(c, false, what, "%s: %s", path, why);
		goto out;
	}
	want = dkimkey_record(key);
	zone = cmd_check_dns_zone_txt(want);
	if (dns_txt(c->dns, name, &recs, &n, &why) != 0) {
		cmd_check_dns_line(c, false, what, "look-up failed: %s", why);
		goto out_want;
	}
	for (size_t i = 0; i < n; i++) {
		char *p = cmd_check_dns_tag(recs[i], "p");

		if (p != NULL) {
			found++;
			which = i;
		}
		free(p);
	}
	if (found == 0) {
		cmd_check_dns_line(c, false, what,
		    "no key published; publish: %s. TXT %s", name, zone);
	} else if (found > 1) {
		cmd_check_dns_line(c, false, what,
		    "%zu keys published, where verifiers expect one; publish "
		    "only: %s. TXT %s",
		    found, name, zone);
	} else {
		char *p = cmd_check_dns_tag(recs[which], "p");
		char *k = cmd_check_dns_tag(recs[which], "k");

		if (p[0] == '\0')
			cmd_check_dns_line(c, false, what,
			    "the key is revoked (empty p=); publish: %s. TXT "
			    "%s",
			    name, zone);
		else if ((k != NULL &&
			     strcasecmp(k, dkimkey_type_name(key)) != 0) ||
		    !dkimkey_matches(key, p))
			cmd_check_dns_line(c, false, what,
			    "the published key is not the public half of %s; "
			    "publish: %s. TXT %s",
			    path, name, zone);
		else
			cmd_check_dns_line(c, true, what,
			    "matches %s (%s, %d bits)", path,
			    dkimkey_type_name(key), dkimkey_bits(key));
		free(p);
		free(k);
	}
out_want:
	free(want);
	free(zone);
out:
	dkimkey_free(key);
	dns_strings_free(recs, n);
	free(why);
	free(what);
	free(name);
}

static void
cmd_check_dns_dkim(struct cmd_check_dns *c)
{
	const struct cfg *cfg = c->cfg;

	if (cfg->dkim_domain == NULL) {
		cmd_check_dns_line(c, false, "DKIM",
		    "no [dkim] in %s: messages go out unsigned, and Gmail and "
		    "Yahoo refuse bulk mail without DKIM (see familymail(1), "
		    "DNS SET-UP)",
		    cfg->path);
		return;
	}
	cmd_check_dns_dkim_key(c, cfg->dkim_selector, cfg->dkim_key_file);
	if (cfg->dkim_ed25519_key_file != NULL)
		cmd_check_dns_dkim_key(
		    c, cfg->dkim_ed25519_selector, cfg->dkim_ed25519_key_file);
}

/* The DMARC records at name: 0 and *rec (the one record, or NULL with
 * *count 0 or more than one), or -EIO with *why. */
static int
cmd_check_dns_dmarc_at(struct cmd_check_dns *c, const char *name, char **rec,
    size_t *count, char **why)
{
	char **recs = NULL;
	size_t n = 0;
	int ret;

	*rec = NULL;
	*count = 0;
	ret = dns_txt(c->dns, name, &recs, &n, why);
	if (ret != 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (cmd_check_dns_has_version(recs[i], "v=DMARC1")) {
			if (*count == 0)
				*rec = xstrdup(recs[i]);
			(*count)++;
		}
	if (*count > 1) {
		free(*rec);
		*rec = NULL;
	}
	dns_strings_free(recs, n);
	return 0;
}

static void
cmd_check_dns_dmarc(struct cmd_check_dns *c)
{
	char *name, *what, *rec = NULL, *why = NULL, *policy;
	size_t count = 0;
	int ret;

	name = xasprintf("_dmarc.%s", c->from_domain);
	ret = cmd_check_dns_dmarc_at(c, name, &rec, &count, &why);
	if (ret == 0 && count == 0 &&
	    strcasecmp(c->from_domain, c->org_domain) != 0) {
		free(name);
		name = xasprintf("_dmarc.%s", c->org_domain);
		ret = cmd_check_dns_dmarc_at(c, name, &rec, &count, &why);
	}
	what = xasprintf("DMARC %s", name);
	if (ret != 0) {
		cmd_check_dns_line(c, false, what, "look-up failed: %s", why);
	} else if (count == 0) {
		cmd_check_dns_line(c, false, what,
		    "no DMARC record; publish: _dmarc.%s. TXT \"v=DMARC1; "
		    "p=none\" (add rua=mailto:ADDRESS for reports, and raise "
		    "p= to quarantine once they are clean)",
		    c->org_domain);
	} else if (count > 1) {
		cmd_check_dns_line(c, false, what,
		    "%zu DMARC records, which receivers ignore; publish one",
		    count);
	} else {
		policy = cmd_check_dns_tag(rec, "p");
		if (policy == NULL ||
		    (strcasecmp(policy, "none") != 0 &&
			strcasecmp(policy, "quarantine") != 0 &&
			strcasecmp(policy, "reject") != 0))
			cmd_check_dns_line(c, false, what,
			    "\"%s\" has no valid p= (none, quarantine or "
			    "reject); publish: _dmarc.%s. TXT \"v=DMARC1; "
			    "p=none\"",
			    rec, c->org_domain);
		else
			cmd_check_dns_line(c, true, what, "\"%s\"", rec);
		free(policy);
		c->dmarc = rec;
		rec = NULL;
	}
	free(rec);
	free(why);
	free(what);
	free(name);
}

/* The organisational domain of d (RFC 7489 §3.2), or d itself when the
 * public suffix list has no answer. Points into d or at a static. */
static const char *
cmd_check_dns_org(const struct cmd_check_dns *c, const char *d)
{
	const char *org = psl_registrable_domain(c->psl, d);

	return org != NULL ? org : d;
}

/* Whether domain aligns with From: strict, the same name; relaxed, the
 * same organisational domain. */
static bool
cmd_check_dns_aligned(
    const struct cmd_check_dns *c, const char *domain, bool strict)
{
	if (strict)
		return strcasecmp(domain, c->from_domain) == 0;
	return strcasecmp(cmd_check_dns_org(c, domain), c->org_domain) == 0;
}

static void
cmd_check_dns_alignment(struct cmd_check_dns *c, const char *what,
    const char *tag, const char *domain, const char *fix)
{
	char *mode = c->dmarc != NULL ? cmd_check_dns_tag(c->dmarc, tag) : NULL;
	bool strict = mode != NULL && strcasecmp(mode, "s") == 0;

	if (strcasecmp(domain, c->from_domain) == 0)
		cmd_check_dns_line(
		    c, true, what, "%s is From's domain", domain);
	else if (cmd_check_dns_aligned(c, domain, strict))
		cmd_check_dns_line(c, true, what,
		    "%s is within %s, From's organisational domain (relaxed)",
		    domain, c->org_domain);
	else if (strict)
		cmd_check_dns_line(c, false, what,
		    "%s is not From's domain %s, and the DMARC record asks "
		    "for strict alignment (%s=s): DMARC cannot pass on it; %s "
		    "%s, or publish %s=r",
		    domain, c->from_domain, tag, fix, c->from_domain, tag);
	else
		cmd_check_dns_line(c, false, what,
		    "%s is not within %s, From's organisational domain: DMARC "
		    "cannot pass on it; %s a name under %s",
		    domain, c->org_domain, fix, c->org_domain);
	free(mode);
}

static void
cmd_check_dns_mx(struct cmd_check_dns *c)
{
	const char *domain = c->cfg->bounce_domain;
	struct dns_mx *mx = NULL;
	char *what, *why = NULL;
	size_t n = 0, addrs = 0;
	struct buf hosts;

	what = xasprintf("MX of %s (bounces)", domain);
	buf_init(&hosts);
	if (dns_mx(c->dns, domain, &mx, &n, &why) != 0) {
		cmd_check_dns_line(c, false, what, "look-up failed: %s", why);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(&hosts, "%s%d %s", i > 0 ? ", " : "", mx[i].pref,
		    mx[i].host[0] != '\0' ? mx[i].host : ".");
	if (n == 1 && mx[0].host[0] == '\0') {
		cmd_check_dns_line(c, false, what,
		    "a null MX (\"0 .\": the domain takes no mail), so bounces "
		    "are lost; publish: %s. MX 10 HOST (the server whose "
		    "mailbox [bounces] source reads)",
		    domain);
	} else if (n > 0) {
		cmd_check_dns_line(c, true, what, "%s", hosts.data);
	} else if (dns_addresses(c->dns, domain, &addrs, &why) != 0) {
		cmd_check_dns_line(c, false, what, "look-up failed: %s", why);
	} else if (addrs > 0) {
		cmd_check_dns_line(c, true, what,
		    "no MX, but an address record, where mail for it goes "
		    "(RFC 5321 §5.1)");
	} else {
		cmd_check_dns_line(c, false, what,
		    "no MX or address record, so bounces cannot come back; "
		    "publish: %s. MX 10 HOST (the server whose mailbox "
		    "[bounces] source reads)",
		    domain);
	}
out:
	buf_fini(&hosts);
	dns_mx_free(mx, n);
	free(why);
	free(what);
}

static int
cmd_check_dns_usage(void)
{
	fprintf(stderr,
	    "usage: familymail [-c FILE] check-dns [--resolver ADDRESS[:PORT]]\n");
	return CMD_EX_USAGE;
}

int
cmd_check_dns(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
		{ "resolver", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_check_dns c = { 0 };
	const char *resolver = NULL;
	struct cfg *cfg;
	char *why = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
		if (ch != 'r')
			return cmd_check_dns_usage();
		resolver = optarg;
	}
	if (optind != argc)
		return cmd_check_dns_usage();
	cfg = cmd_load_config(config_path);
	if (cfg == NULL)
		return CMD_EX_CONFIG;
	if (dns_new(resolver, &c.dns, &why) != 0) {
		fprintf(stderr, "familymail: check-dns: resolver %s\n", why);
		free(why);
		cfg_free(cfg);
		return resolver != NULL ? CMD_EX_USAGE : 1;
	}
	c.psl = psl_latest(NULL);
	c.cfg = cfg;
	c.from_domain = strrchr(cfg->from_addr, '@') + 1;
	c.org_domain = c.psl != NULL ? cmd_check_dns_org(&c, c.from_domain)
				     : c.from_domain;
	cmd_check_dns_spf(&c, cfg->bounce_domain, "envelope sender");
	if (strcasecmp(cfg->bounce_domain, c.from_domain) != 0)
		cmd_check_dns_spf(&c, c.from_domain, "From");
	cmd_check_dns_dkim(&c);
	cmd_check_dns_dmarc(&c);
	cmd_check_dns_alignment(&c, "SPF alignment", "aspf", cfg->bounce_domain,
	    "set [sender] bounce_domain to");
	if (cfg->dkim_domain != NULL)
		cmd_check_dns_alignment(&c, "DKIM alignment", "adkim",
		    cfg->dkim_domain, "set [dkim] domain to");
	cmd_check_dns_mx(&c);
	free(c.dmarc);
	psl_free(c.psl);
	dns_free(c.dns);
	cfg_free(cfg);
	return fflush(stdout) != 0 || c.failed > 0 ? 1 : 0;
}
