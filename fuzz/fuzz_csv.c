/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_csv: the subscriber CSV reader of `familymail import` on any
 * file. Its parser is static to cmd_import.c, so the file is included
 * here whole and the build leaves cmd_import.c's own object out of this
 * target. Every row that is accepted has a valid address and a name
 * without control characters; every problem is one printable line.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "cmd/cmd_import.c" /* NOLINT(bugprone-suspicious-include) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd_import im = { .path = "fuzz.csv" };
	struct buf file;
	int ret;

	buf_init(&file);
	buf_append(&file, data, size);
	ret = cmd_import_load(&im, &file);
	if ((ret == 0) != (im.n_problems == 0))
		abort();
	for (size_t i = 0; i < im.n_rows; i++) {
		if (!addr_is_valid(im.rows[i].email))
			abort();
		if (im.rows[i].name != NULL &&
		    cmd_import_has_control(im.rows[i].name))
			abort();
	}
	for (size_t i = 0; i < im.n_problems; i++)
		if (cmd_import_has_control(im.problems[i].msg))
			abort();
	cmd_import_fini(&im);
	buf_fini(&file);
	return 0;
}
