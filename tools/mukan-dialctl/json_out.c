/* SPDX-License-Identifier: Apache-2.0 */
/* json_out.c - a verb's JSON answer on stdout (see json_out.h). */
#include <stdio.h>
#include <stdlib.h>

#include "dialctl.h"
#include "json_out.h"

int json_out(json_t *o, size_t flags)
{
	char *text = o ? json_dumps(o, flags) : NULL;
	json_decref(o);
	if (!text) {
		fprintf(stderr, DIALCTL_NAME ": out of memory building JSON\n");
		return DIALCTL_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return DIALCTL_EXIT_OK;
}
