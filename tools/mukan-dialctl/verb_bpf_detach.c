/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_bpf_detach.c - `bpf detach [--purge --yes]`: remove the pinned links
 * (the programs come off their cgroup hooks), and with --purge the maps too.
 * The kernel is asked afterwards whether the programs really left the hooks:
 * a link another process still holds (a running daemon) stays attached.
 */
#include <stdio.h>
#include <unistd.h>

#include "bpf_report.h"
#include "dialctl.h"
#include "kern/kern.h"

#define STILL_TRIES 40
#define STILL_WAIT_US 25000 /* up to 1 s in all */

struct detach_args {
	struct live_opts live;
	bool purge, yes;
};

enum { OPT_PURGE = 'p', OPT_YES = 'y' };

static const struct argp_option options[] = {
	{ "purge", OPT_PURGE, NULL, 0,
	  "Also unpin the maps: the live book, its dial counts, bans and backoff, the config "
	  "and the counters are deleted (export the book first). Needs --yes.",
	  0 },
	{ "yes", OPT_YES, NULL, 0, "Confirm --purge.", 0 },
	{ 0 },
};

static const char doc[] =
	"Detach the BPF programs; with --purge --yes also delete the pinned maps.\n"
	"\n"
	"USAGE: mukan-dialctl bpf detach [--purge --yes] [--pin-dir DIR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl bpf detach                      # programs off, book kept\n"
	"    mukan-dialctl book export --live saved.json && \\\n"
	"        mukan-dialctl bpf detach --purge --yes    # everything gone\n"
	"\v"
	"Without --purge the maps stay pinned, so a later `bpf attach` continues with every "
	"count. Detaching what is not attached is not an error. --purge is refused while "
	"mukan-dialerd runs on the pin dir. Exit status 0 done, 1 a pin "
	"could not be removed, a program is still attached (another process holds its "
	"link) or a daemon holds the pin dir, 2 usage error (--purge without --yes).";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct detach_args *a = state->input;
	(void)arg;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case OPT_PURGE:
		a->purge = true;
		return 0;
	case OPT_YES:
		a->yes = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "bpf detach takes no arguments");
		return 0;
	case ARGP_KEY_END:
		if (a->purge && !a->yes)
			argp_error(state, "--purge deletes the live book and every dial count; "
					  "add --yes to confirm");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp detach_argp = { options, parse, NULL, doc, live_children, NULL, NULL };

/*
 * Is the program still on its hook? Dropping the last pin frees the link
 * from deferred work, so give the kernel a moment (bounded) before saying yes.
 */
static bool still_attached(const struct kern_link_status *l, char *cgroup, size_t sz)
{
	struct link_report r;
	for (int tries = 0; tries < STILL_TRIES; tries++) {
		report_link(l, &r);
		snprintf(cgroup, sz, "%s", r.cgroup);
		if (!r.attached)
			return false;
		usleep(STILL_WAIT_US);
	}
	return true;
}

static void report_one(const struct kern_link_status *l, bool *failed)
{
	char cgroup[512] = "";
	if (!l->pinned) {
		printf("%-9s was not attached\n", l->name);
		return;
	}
	if (still_attached(l, cgroup, sizeof(cgroup))) {
		printf("%-9s unpinned, but prog %u is STILL on the hook of %s: another process "
		       "holds its link\n",
		       l->name, l->prog_id, cgroup);
		*failed = true;
		return;
	}
	printf("%-9s detached (prog %u off cgroup id %llu)\n", l->name, l->prog_id,
	       (unsigned long long)l->cgroup_id);
}

int verb_bpf_detach(int argc, char **argv)
{
	struct detach_args a = { 0 };
	argp_parse(&detach_argp, argc, argv, 0, NULL, &a);

	char err[512] = "";
	struct kern_status before;
	int e = kern_status(a.live.pin_dir, &before, err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail(NULL, e, err);
	/* Deleting the maps is a write: never under a running daemon. */
	int lock = -1;
	if (a.purge && before.maps_pinned) {
		int status = dialctl_lock_pins(a.live.pin_dir, false, "bpf detach --purge", &lock);
		if (status != DIALCTL_EXIT_OK)
			return status;
	}
	e = kern_detach(a.live.pin_dir, a.purge, err, sizeof(err));
	kern_unlock(lock);
	if (e < 0)
		return dialctl_kern_fail("detach", e, err);

	bool failed = false;
	for (int i = 0; i < 3; i++)
		report_one(&before.links[i], &failed);
	if (a.purge)
		printf("maps      unpinned; %s %s\n", a.live.pin_dir,
		       access(a.live.pin_dir, F_OK) == 0 ? "still holds other files, left as is"
							  : "removed");
	else if (before.maps_pinned)
		printf("maps      kept under %s (book %u of %u slots used)\n", a.live.pin_dir,
		       before.book_used, before.book_capacity);
	return failed ? DIALCTL_EXIT_FAIL : DIALCTL_EXIT_OK;
}
