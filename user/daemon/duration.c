/* SPDX-License-Identifier: Apache-2.0 */
/* duration.c - Go's time.ParseDuration grammar: [number unit]+, units ns us ms s m h. */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const struct {
	const char *name;
	int64_t ns;
} units[] = { { "ns", 1 },	     { "us", 1000 },	     { "\xc2\xb5s", 1000 },
	      { "ms", 1000000 },     { "s", 1000000000LL }, { "m", 60000000000LL },
	      { "h", 3600000000000LL } };

int duration_parse(const char *s, int64_t *ns)
{
	if (!s || !*s)
		return -EINVAL;
	const char *p = s;
	int sign = 1;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (*p == '\0')
		return -EINVAL;
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	long double total = 0;
	bool plain = true;
	while (*p) {
		long double v = 0, scale = 1;
		bool digits = false;
		while (*p >= '0' && *p <= '9')
			v = v * 10 + (*p++ - '0'), digits = true;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				v += (*p++ - '0') * (scale /= 10), digits = true;
		}
		if (!digits)
			return -EINVAL;
		if (*p == '\0' && plain) { /* a bare number: nanoseconds */
			total = v;
			break;
		}
		size_t best = 0;
		int64_t mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);
			if (n > best && strncmp(p, units[i].name, n) == 0)
				best = n, mult = units[i].ns;
		}
		if (!best)
			return -EINVAL;
		p += best;
		plain = false;
		total += v * (long double)mult;
		if (total > 9.2e18L)
			return -ERANGE;
	}
	*ns = sign * (int64_t)total;
	return 0;
}
