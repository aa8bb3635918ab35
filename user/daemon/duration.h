/* SPDX-License-Identifier: Apache-2.0 */
/* duration.h - Go duration strings ("1s", "300ms", "2h45m", "1.5h"), as config.toml writes them. */
#ifndef MUKAN_DURATION_H
#define MUKAN_DURATION_H

#include <stdint.h>

/* Parse into ns. A plain number is nanoseconds. 0 or -EINVAL / -ERANGE. */
int duration_parse(const char *s, int64_t *ns);

#endif
