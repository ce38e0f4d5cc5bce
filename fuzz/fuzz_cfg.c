/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_cfg: the config parser on any bytes. cfg_load() reads a path, so
 * each input is written to a file in a private folder first (there is
 * no from-memory entry point: the checks on disk resolve paths relative
 * to the file). Either a config or an error text comes back, never both,
 * and every error line names the file.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_cfg_path[4096];

static void
fuzz_cfg_setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/fuzz_cfg.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(fuzz_cfg_path, sizeof(fuzz_cfg_path), "%s/familymail.conf",
	    dir);
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
	fd = open(fuzz_cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
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
	cfg_free(c);
	free(errors);
	return 0;
}
