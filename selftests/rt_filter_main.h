/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rxe-revoke selftests: a main() for kselftest_harness.h tests that runs
 * only the cases named with -f FIXTURE, -v VARIANT, -t TEST (-l lists
 * them). Included last by the tests that want it, instead of the
 * harness's TEST_HARNESS_MAIN. It builds with the harness of 6.1 and of
 * 6.12 (which tells a pass from the exit code, and has XFAIL_ADD).
 */
#ifndef RT_FILTER_MAIN_H
#define RT_FILTER_MAIN_H

#ifdef XFAIL_ADD
#define TEST_PASSED(t) __test_passed(t)
#else
#define TEST_PASSED(t) ((t)->passed)
#endif

struct filter {
	const char *v[16];
	int n;
};

static bool match(const struct filter *f, const char *name)
{
	int i;

	if (!f->n)
		return true;
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->v[i], name))
			return true;
	return false;
}

static int add(struct filter *f, const char *s)
{
	if (f->n == (int)ARRAY_SIZE(f->v))
		return -1;
	f->v[f->n++] = s;
	return 0;
}

int main(int argc, char **argv)
{
	struct __fixture_variant_metadata no_variant = { .name = "", };
	struct filter ff = {}, fv = {}, ft = {};
	struct __fixture_variant_metadata *v;
	struct __test_results *results;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	unsigned int count = 0, pass = 0, total = 0;
	bool list = false;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "f:v:t:l")) != -1) {
		switch (opt) {
		case 'f':
			ret = add(&ff, optarg);
			break;
		case 'v':
			ret = add(&fv, optarg);
			break;
		case 't':
			ret = add(&ft, optarg);
			break;
		case 'l':
			list = true;
			break;
		default:
			ret = -1;
		}
		if (ret) {
			fprintf(stderr, "usage: %s [-l] [-f FIXTURE] [-v VARIANT] [-t TEST]...\n",
				argv[0]);
			return KSFT_FAIL;
		}
	}

#define SELECTED(f, v, t) (match(&ff, (f)->name) && match(&fv, (v)->name) && \
			   match(&ft, (t)->name))
	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant ?: &no_variant; v; v = v->next)
			for (t = f->tests; t; t = t->next) {
				if (!SELECTED(f, v, t))
					continue;
				total++;
				if (list)
					printf("%s%s%s.%s\n", f->name,
					       v->name[0] ? "." : "", v->name,
					       t->name);
			}
	if (list)
		return 0;

	results = mmap(NULL, sizeof(*results), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED)
		return KSFT_FAIL;
	ksft_print_header();
	ksft_set_plan(total);
	ksft_print_msg("Starting %u tests\n", total);
	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant ?: &no_variant; v; v = v->next)
			for (t = f->tests; t; t = t->next) {
				if (!SELECTED(f, v, t))
					continue;
				count++;
				t->results = results;
				__run_test(f, v, t);
				t->results = NULL;
				if (TEST_PASSED(t))
					pass++;
				else
					ret = 1;
			}
#undef SELECTED
	munmap(results, sizeof(*results));
	ksft_print_msg("%s: %u / %u tests passed.\n", ret ? "FAILED" : "PASSED",
		       pass, count);
	ksft_exit(ret == 0);
	return KSFT_FAIL;
}

#endif /* RT_FILTER_MAIN_H */
