/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tmpl_bench: renders per second of one template with one JSON context,
 * as the daemon renders: the template and its partials are compiled
 * once, then rendered again and again into a reused buffer. Driven by
 * bench/tmpl_bench.sh, which runs pystache on the same input beside it.
 *
 * usage: tmpl_bench TEMPLATE PARTIALS_DIR DATA.json SECONDS [OUT]
 * Prints "renders=N seconds=S rate=R" and writes one rendering to OUT.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "tmpl/tmpl.h"
#include "util.h"

static double
tmpl_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct tmpl_set *partials;
	struct tmpl_error err;
	json_error_t jerr;
	struct tmpl *t;
	struct buf out;
	json_t *data;
	double start, elapsed, seconds;
	char msg[600];
	long renders = 0;
	int i, ret = 0;
	FILE *f;

	if (argc < 5 || argc > 6) {
		fprintf(stderr,
		    "usage: tmpl_bench TEMPLATE PARTIALS_DIR "
		    "DATA.json SECONDS [OUT]\n");
		return 64;
	}
	seconds = strtod(argv[4], NULL);
	t = tmpl_load(argv[1], &err);
	partials = t != NULL ? tmpl_set_load_partials(argv[2], &err) : NULL;
	if (t == NULL || partials == NULL) {
		fprintf(
		    stderr, "%s\n", tmpl_error_format(&err, msg, sizeof(msg)));
		return 65;
	}
	data = json_load_file(argv[3], 0, &jerr);
	if (data == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", argv[3], jerr.line,
		    jerr.column, jerr.text);
		return 65;
	}

	buf_init(&out);
	start = tmpl_bench_now();
	do {
		/* Check the clock every 100 renders only. */
		for (i = 0; i < 100 && ret == 0; i++) {
			buf_reset(&out);
			ret = tmpl_render(t, data, tmpl_set_partials(partials),
			    TMPL_ESCAPE_HTML, &out);
			renders++;
		}
		elapsed = tmpl_bench_now() - start;
	} while (elapsed < seconds && ret == 0);
	if (ret != 0) {
		fprintf(stderr, "tmpl_bench: render failed: %d\n", ret);
		return 70;
	}
	printf("renders=%ld seconds=%.3f rate=%.0f bytes=%zu\n", renders,
	    elapsed, (double)renders / elapsed, out.len);
	if (argc == 6) {
		f = fopen(argv[5], "w");
		if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len ||
		    fclose(f) != 0) {
			perror(argv[5]);
			return 73;
		}
	}
	buf_fini(&out);
	json_decref(data);
	tmpl_set_free(partials);
	tmpl_free(t);
	return 0;
}
