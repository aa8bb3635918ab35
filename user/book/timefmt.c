/* SPDX-License-Identifier: Apache-2.0 */
/* timefmt.c - RFC 3339 times as Go writes them, without locale or TZ. */
#include "timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mukan/abi.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int time_parse(const char *s, int64_t *unix_ns)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, frac = 0;
	const char *p = s;
	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
	    digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't')
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') ||
	    digits(&p, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -EINVAL;
	if (*p == '.') {
		p++;
		int n = 0;
		while (*p >= '0' && *p <= '9') {
			if (n < 9)
				frac = frac * 10 + (unsigned)(*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			frac *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		unsigned oh, om;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		offset = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	if (y == 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && sec == 0 && frac == 0 && offset == 0) {
		*unix_ns = MUKAN_TIME_NEVER; /* Go's zero time */
		return 0;
	}
	/* int64 ns spans 1677-09-21 .. 2262-04-11; outside, saturate. */
	if (secs <= INT64_MIN / 1000000000 + 1)
		*unix_ns = MUKAN_TIME_NEVER;
	else if (secs >= INT64_MAX / 1000000000 - 1)
		*unix_ns = INT64_MAX;
	else
		*unix_ns = secs * 1000000000 + frac;
	return 0;
}

size_t time_format(int64_t unix_ns, char out[TIME_STRLEN])
{
	if (unix_ns == MUKAN_TIME_NEVER)
		return (size_t)snprintf(out, TIME_STRLEN, "0001-01-01T00:00:00Z");
	int64_t secs = unix_ns / 1000000000, ns = unix_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		secs--;
	}
	int64_t days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	/* Digits by hand: a full book save formats 60,000 of these. int64 ns
	 * only spans the years 1677..2262, so four digits always fit. */
	unsigned parts[] = { (unsigned)y, m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
			     (unsigned)(rem % 60) };
	static const char seps[] = "--T::";
	int n = 0;
	for (int i = 0; i < 6; i++) {
		int width = i == 0 ? 4 : 2;
		for (int k = width - 1; k >= 0; k--, parts[i] /= 10)
			out[n + k] = (char)('0' + parts[i] % 10);
		n += width;
		if (i < 5)
			out[n++] = seps[i];
	}
	if (ns) {
		int digits = 9;
		while (ns % 10 == 0) {
			ns /= 10;
			digits--;
		}
		out[n++] = '.';
		for (int k = digits - 1; k >= 0; k--, ns /= 10)
			out[n + k] = (char)('0' + ns % 10);
		n += digits;
	}
	out[n++] = 'Z';
	out[n] = '\0';
	return (size_t)n;
}
