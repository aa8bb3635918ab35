/* SPDX-License-Identifier: Apache-2.0 */
/*
 * go_duration.h - durations as Go writes them ("500ms", "2s", "1h30m"), the
 * notation CometBFT operators already use in config.toml.
 */
#ifndef MUKAN_GO_DURATION_H
#define MUKAN_GO_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define GO_DURATION_STRLEN 40

/*
 * Go's time.ParseDuration without a sign ("1.5s", "1h30m", units ns, us, µs,
 * ms, s, m, h), or a plain integer meaning nanoseconds. 0, or -EINVAL
 * (malformed) / -ERANGE (above 2^64-1 ns).
 */
int go_duration_parse(const char *s, uint64_t *ns);

/* Go's Duration.String(), "us" for micro: "0s", "1.5ms", "2s", "1h0m0s". */
size_t go_duration_format(uint64_t ns, char out[GO_DURATION_STRLEN]);

#endif /* MUKAN_GO_DURATION_H */
