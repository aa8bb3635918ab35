/* SPDX-License-Identifier: Apache-2.0 */
/*
 * live_common.c - what every live verb shares: --pin-dir (and --live for the
 * book verbs that also work on files), opening the pinned maps, and errors
 * from the kernel side worded for an operator.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dialctl.h"
#include "kern/kern.h"

enum { OPT_PIN_DIR = 0x200, OPT_LIVE = 0x201 };

#define PIN_DIR_OPTION                                                                        \
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0,                                                   \
	  "Where the maps and links are pinned (default " KERN_PIN_DIR "). Tests and second " \
	  "instances use their own.",                                                         \
	  0 }

static const struct argp_option pin_options[] = {
	PIN_DIR_OPTION,
	{ 0 },
};

static const struct argp_option book_live_options[] = {
	{ "live", OPT_LIVE, NULL, 0,
	  "Work on the live book: the records in the pinned BPF map that the kernel updates "
	  "(needs root and `mukan-dialctl bpf attach` first), instead of a file.",
	  0 },
	PIN_DIR_OPTION,
	{ 0 },
};

static error_t live_parse(int key, char *arg, struct argp_state *state)
{
	struct live_opts *o = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		o->pin_dir = KERN_PIN_DIR;
		return 0;
	case OPT_PIN_DIR:
		if (!*arg || strlen(arg) > 200) /* kern keeps pin paths in 256 bytes */
			argp_error(state, "--pin-dir wants a directory path of 1..200 characters");
		o->pin_dir = arg;
		return 0;
	case OPT_LIVE:
		o->live = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp live_argp = { pin_options, live_parse, NULL, NULL, NULL, NULL, NULL };
static const struct argp book_live_argp = { book_live_options, live_parse, NULL, NULL,
					    NULL, NULL, NULL };

const struct argp_child live_children[] = {
	{ &live_argp, 0, "Options every live verb takes:", 0 },
	{ 0 },
};

const struct argp_child book_live_children[] = {
	{ &common_argp, 0, "Options every book verb takes:", 0 },
	{ &book_live_argp, 0, "The live book:", 0 },
	{ 0 },
};

bool dialctl_wants_live(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--live") == 0)
			return true;
	}
	return false;
}

int dialctl_kern_fail(const char *what, int e, const char *err)
{
	fprintf(stderr, DIALCTL_NAME ": %s%s%s%s\n", what ? what : "", what ? ": " : "",
		err && *err ? err : strerror(-e),
		e == -EPERM || e == -EACCES ? " (live verbs need root: CAP_BPF and CAP_SYS_ADMIN)"
					   : "");
	return DIALCTL_EXIT_FAIL;
}

int dialctl_open_pinned(const struct live_opts *o, struct kern **k)
{
	char err[512] = "";
	int e = kern_open_pinned(k, o->pin_dir, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail(NULL, e, err);
	return DIALCTL_EXIT_OK;
}

int dialctl_with_pinned(const struct live_opts *o, int (*fn)(const void *args, struct kern *k),
			const void *args)
{
	struct kern *k;
	int status = dialctl_open_pinned(o, &k);
	if (status != DIALCTL_EXIT_OK)
		return status;
	status = fn(args, k);
	kern_close(k);
	return status;
}
