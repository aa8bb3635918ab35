/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timefmt.h - RFC 3339 times as Go's encoding/json writes them
 * (RFC3339Nano: nanoseconds with trailing zeros dropped), and the Go zero
 * time "0001-01-01T00:00:00Z" as "never".
 */
#ifndef MUKAN_TIMEFMT_H
#define MUKAN_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIME_STRLEN 40

/*
 * Parse into unix ns. The Go zero time gives MUKAN_TIME_NEVER; a time
 * before 1678 (outside int64 ns) gives MUKAN_TIME_NEVER too, one after
 * 2262 INT64_MAX. Returns 0 or -EINVAL.
 */
int time_parse(const char *s, int64_t *unix_ns);

/* Write unix ns (or MUKAN_TIME_NEVER) in UTC; returns the length. */
size_t time_format(int64_t unix_ns, char out[TIME_STRLEN]);

#endif /* MUKAN_TIMEFMT_H */
