/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_log.c - keep libbpf's output (the verifier log among it) in memory
 * instead of on stderr, so a refusal can be reported as one error with the
 * log's last lines, and a success prints nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kern_internal.h"

#define LOG_SIZE 16384

static char log_buf[LOG_SIZE];
static size_t log_len;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	size_t len = strnlen(line, sizeof(line));
	if (len >= LOG_SIZE)
		len = LOG_SIZE - 1;
	if (log_len + len >= LOG_SIZE) { /* keep the newest half */
		memmove(log_buf, log_buf + LOG_SIZE / 2, log_len - LOG_SIZE / 2);
		log_len -= LOG_SIZE / 2;
	}
	memcpy(log_buf + log_len, line, len);
	log_len += len;
	log_buf[log_len] = '\0';
	return n;
}

void kern_log_capture(void)
{
	log_len = 0;
	log_buf[0] = '\0';
	libbpf_set_print(capture);
}

const char *kern_log_tail(size_t max_lines)
{
	size_t lines = 0;
	for (size_t i = log_len; i > 0; i--) {
		if (log_buf[i - 1] == '\n' && i != log_len && ++lines == max_lines)
			return log_buf + i;
	}
	return log_buf;
}
