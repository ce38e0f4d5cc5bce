/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_cfg: the config parser on any bytes. cfg_load() reads a path, so
 * each input is written to a file in a private folder first (there is
 * no from-memory entry point: the checks on disk resolve paths relative
 * to the file). Either a config or an error text comes back, never both,
 * and every error line names the file; a config that loads keeps the
 * promises of cfg.h (a valid from address, sorted offsets, times in
 * range).
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "send/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_cfg_path[4096];

static void
fuzz_cfg_check(const struct cfg *c)
{
	if (c->path == NULL || c->database == NULL || c->templates == NULL ||
	    c->from_addr == NULL || c->from_name == NULL ||
	    !addr_is_valid(c->from_addr) || c->bounce_domain == NULL ||
	    c->list_id == NULL)
		abort();
	if (c->reply_to != NULL && strpbrk(c->reply_to, "\r\n") != NULL)
		abort();
	if (c->n_offsets < 0 || c->n_offsets > CFG_MAX_OFFSETS)
		abort();
	for (int i = 0; i < c->n_offsets; i++) {
		if (c->offsets[i].secs <= 0 ||
		    memchr(c->offsets[i].text, '\0',
			sizeof(c->offsets[i].text)) == NULL)
			abort();
		if (i > 0 && c->offsets[i].secs >= c->offsets[i - 1].secs)
			abort();
	}
	if (c->weekly_wday < 0 || c->weekly_wday > 6 || c->weekly_minute < 0 ||
	    c->weekly_minute >= 24 * 60 || c->monthly_mday < 1 ||
	    c->monthly_mday > 28 || c->monthly_minute < 0 ||
	    c->monthly_minute >= 24 * 60)
		abort();
	if (c->smtp_rate.count > 0 && c->smtp_rate.per_sec == 0)
		abort();
}

static void
fuzz_cfg_setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char dir[4096];

	/* base is one of two short names: both paths fit with room. */
	(void)snprintf(dir, sizeof(dir), "%s/fuzz_cfg.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(
	    fuzz_cfg_path, sizeof(fuzz_cfg_path), "%s/familymail.conf", dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c;
	char *errors = NULL;
	size_t plen;
	int fd;

	if (fuzz_cfg_path[0] == '\0')
		fuzz_cfg_setup();
	fd =
	    open(fuzz_cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	c = cfg_load(fuzz_cfg_path, &errors);
	if ((c == NULL) == (errors == NULL))
		abort();
	if (errors != NULL) {
		plen = strlen(fuzz_cfg_path);
		for (const char *line = errors; *line != '\0';) {
			const char *nl = strchr(line, '\n');

			if (strncmp(line, fuzz_cfg_path, plen) != 0 ||
			    line[plen] != ':')
				abort();
			if (nl == NULL)
				break;
			line = nl + 1;
		}
	}
	if (c != NULL)
		fuzz_cfg_check(c);
	cfg_free(c);
	free(errors);
	return 0;
}
