/* SPDX-License-Identifier: Apache-2.0 */
/*
 * go_duration.c - Go's duration notation both ways. Parsing follows
 * time.ParseDuration (same units, fractions, overflow refused), so a value
 * copied from a CometBFT config.toml means the same here. Digits are summed
 * as integers, as Go does, so a limit such as "0.001s" is exactly 1 ms and
 * not a rounding step below it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "go_duration.h"

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign, as Go prints it */
	{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu, which Go accepts too */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/* The unit at *s (letters up to the next digit or dot), or 0. */
static uint64_t take_unit(const char **s)
{
	size_t len = 0;
	while ((*s)[len] && !is_digit((*s)[len]) && (*s)[len] != '.')
		len++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == len && memcmp(*s, units[i].name, len) == 0) {
			*s += len;
			return units[i].ns;
		}
	}
	return 0;
}

/* One "<number><unit>" term, added to *total. */
static int take_term(const char **s, uint64_t *total)
{
	uint64_t whole = 0, frac = 0;
	double scale = 1;
	bool digits = false;
	for (; is_digit(**s); (*s)++, digits = true) {
		if (whole > (UINT64_MAX - (uint64_t)(**s - '0')) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(**s - '0');
	}
	if (**s == '.') {
		(*s)++;
		for (; is_digit(**s); (*s)++, digits = true) {
			if (frac > UINT64_MAX / 100) /* precision beyond this cannot matter */
				continue;
			frac = frac * 10 + (uint64_t)(**s - '0');
			scale *= 10;
		}
	}
	if (!digits)
		return -EINVAL;
	uint64_t unit = take_unit(s);
	if (unit == 0)
		return -EINVAL;
	uint64_t v;
	if (__builtin_mul_overflow(whole, unit, &v))
		return -ERANGE;
	if (frac) {
		double extra = (double)frac * ((double)unit / scale);
		if (extra >= 18446744073709551616.0 || __builtin_add_overflow(v, (uint64_t)extra, &v))
			return -ERANGE;
	}
	if (__builtin_add_overflow(*total, v, total))
		return -ERANGE;
	return 0;
}

int go_duration_parse(const char *s, uint64_t *ns)
{
	if (all_digits(s)) { /* plain nanoseconds, as the map holds them */
		uint64_t v = 0;
		for (; *s; s++) {
			if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		*ns = v;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	uint64_t total = 0;
	while (*s) {
		int e = take_term(&s, &total);
		if (e < 0)
			return e;
	}
	*ns = total;
	return 0;
}

/* ".5", ".125": the fraction of `digits` decimal places, trailing zeros dropped. */
static void frac_text(uint64_t frac, int digits, char out[24])
{
	out[0] = '\0';
	if (frac == 0)
		return;
	char buf[24];
	snprintf(buf, sizeof(buf), "%0*llu", digits, (unsigned long long)frac);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	snprintf(out, 24, ".%s", buf);
}

size_t go_duration_format(uint64_t ns, char out[GO_DURATION_STRLEN])
{
	char frac[24];
	int n;
	if (ns == 0) {
		n = snprintf(out, GO_DURATION_STRLEN, "0s");
	} else if (ns < 1000ULL) {
		n = snprintf(out, GO_DURATION_STRLEN, "%lluns", (unsigned long long)ns);
	} else if (ns < 1000000ULL) {
		frac_text(ns % 1000, 3, frac);
		n = snprintf(out, GO_DURATION_STRLEN, "%llu%sus", (unsigned long long)(ns / 1000), frac);
	} else if (ns < 1000000000ULL) {
		frac_text(ns % 1000000, 6, frac);
		n = snprintf(out, GO_DURATION_STRLEN, "%llu%sms", (unsigned long long)(ns / 1000000),
			     frac);
	} else {
		unsigned long long secs = ns / 1000000000ULL;
		frac_text(ns % 1000000000ULL, 9, frac);
		if (secs >= 3600)
			n = snprintf(out, GO_DURATION_STRLEN, "%lluh%llum%llu%ss", secs / 3600,
				     secs / 60 % 60, secs % 60, frac);
		else if (secs >= 60)
			n = snprintf(out, GO_DURATION_STRLEN, "%llum%llu%ss", secs / 60, secs % 60, frac);
		else
			n = snprintf(out, GO_DURATION_STRLEN, "%llu%ss", secs, frac);
	}
	return n > 0 ? (size_t)n : 0;
}
