/*
 * replay.c - a main for the libFuzzer targets without libFuzzer: every file
 * named on the command line, or found under a folder named there, is read
 * and given once to LLVMFuzzerTestOneInput, in a buffer of exactly its size
 * (as libFuzzer does, so that a read past the end is caught).  Linked with
 * each tests/fuzz/fuzz_*.c into the ASan/UBSan build, it replays the seeds
 * and the kept corpus of every target in `make test`; a crash, a leak or
 * undefined behaviour fails the run, and the input being replayed is named.
 *
 *   fuzz_NAME [PATH...]      TAP output: one line per PATH
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sanitizer/common_interface_defs.h>

#define REPLAY_MAX_INPUT	(64u << 20)	/* larger files are refused */
#define REPLAY_MAX_DEPTH	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static const char *replay_current;	/* the input being replayed */

static void
replay_on_death(void)
{
	if (replay_current != NULL)
		fprintf(stderr, "# crashing input: %s\n", replay_current);
}

/* Replay one file; returns 0, or -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long len;
	size_t got;

	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    (unsigned long)len > REPLAY_MAX_INPUT || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	got = fread(buf, 1, (size_t)len, f);
	fclose(f);
	if (got != (size_t)len) {
		free(buf);
		return -1;
	}
	replay_current = path;
	LLVMFuzzerTestOneInput(buf, got);
	replay_current = NULL;
	free(buf);
	return 0;
}

static int
replay_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay PATH (a file, or every file under a folder, in name order);
 * counts the inputs in *n and the unreadable ones in *bad. */
static void
replay_path(const char *path, int depth, size_t *n, size_t *bad)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL, **grown, *sub;
	size_t count = 0, cap = 0, i, len;

	if (stat(path, &st) != 0) {
		(*bad)++;
		fprintf(stderr, "# %s: cannot stat\n", path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (!S_ISREG(st.st_mode))
			return;
		if (replay_file(path) != 0) {
			(*bad)++;
			fprintf(stderr, "# %s: cannot read\n", path);
		} else {
			(*n)++;
		}
		return;
	}
	if (depth >= REPLAY_MAX_DEPTH || (d = opendir(path)) == NULL) {
		(*bad)++;
		fprintf(stderr, "# %s: cannot read the folder\n", path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
		}
		len = strlen(path) + strlen(e->d_name) + 2;
		sub = malloc(len);
		if (sub == NULL)
			break;
		snprintf(sub, len, "%s/%s", path, e->d_name);
		names[count++] = sub;
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), replay_cmp_names);
	for (i = 0; i < count; i++) {
		replay_path(names[i], depth + 1, n, bad);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	const char *name;
	size_t n, bad;
	int i, failed = 0;

	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	__sanitizer_set_death_callback(replay_on_death);
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		n = 0;
		bad = 0;
		replay_path(argv[i], 0, &n, &bad);
		if (bad > 0) {
			printf("not ok - %s: %s: %zu inputs replayed, %zu "
			    "unreadable\n", name, argv[i], n, bad);
			failed = 1;
		} else if (n == 0) {
			printf("ok - %s: %s # SKIP no input in it\n", name,
			    argv[i]);
		} else {
			printf("ok - %s: %s: %zu inputs replayed\n", name,
			    argv[i], n);
		}
		fflush(stdout);
	}
	if (argc < 2)
		printf("ok - %s: replay # SKIP no seed or corpus input\n", name);
	return failed;
}
