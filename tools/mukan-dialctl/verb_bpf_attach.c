/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verb_bpf_attach.c - `bpf attach`: load the programs, create or reuse the
 * pinned maps, attach to a cgroup through pinned links, and exit. The links
 * keep the programs attached after this process is gone; a second attach
 * swaps fresh programs into the same links (never a second attachment).
 */
#include <stdio.h>
#include <string.h>

#include "bpf_report.h"
#include "dialctl.h"
#include "kern/kern.h"

#define MIN_CAPACITY 64
#define MAX_CAPACITY (1u << 20) /* 256 MiB of records */

struct attach_args {
	struct live_opts live;
	const char *cgroup;
	uint32_t capacity;
};

enum { OPT_CGROUP = 'c', OPT_CAPACITY = 'n' };

static const struct argp_option options[] = {
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "The cgroup v2 directory whose processes' dials are watched and gated. Default: "
	  "<cgroup2 mount>/" KERN_CGROUP_NAME ", created if missing. Attach to the node's own "
	  "cgroup to learn from the node's dials too.",
	  0 },
	{ "capacity", OPT_CAPACITY, "N", 0,
	  "Book slots when the maps are created (64..1048576, default 32768). Pinned maps "
	  "keep their size: resizing takes `bpf detach --purge --yes` first.",
	  0 },
	{ 0 },
};

static const char doc[] =
	"Load the BPF programs and attach them to a cgroup; they stay attached.\n"
	"\n"
	"USAGE: mukan-dialctl bpf attach [--cgroup PATH] [--capacity N] [--pin-dir DIR]\n"
	"\n"
	"EXAMPLES:\n"
	"    mukan-dialctl bpf attach              # cgroup mukan-dialer, default pins\n"
	"    mukan-dialctl bpf attach \\\n"
	"        --cgroup /sys/fs/cgroup/system.slice/cometbft.service\n"
	"    mukan-dialctl bpf attach --capacity 4096 --pin-dir /sys/fs/bpf/mukan-t\n"
	"\v"
	"Three programs: sockops (records every dial's outcome in the book map), connect4 and "
	"connect6 (refuse connects to addresses still backing off, when the config's gate is "
	"on). Maps (book, book_idx, meta, config, stats, events) and links are pinned under "
	"the pin directory; pinned maps are reused, so no count is lost. Running attach again "
	"is safe: on the same cgroup the pinned links get the freshly loaded programs in place "
	"(one attachment per hook, always); with another --cgroup the links move there. While "
	"mukan-dialerd runs on the pin dir, attach is refused (the daemon keeps the programs "
	"attached). Exit status 0 attached, 1 the kernel refused (the verifier's reason is "
	"printed) or a daemon holds the pin dir, 2 usage error.";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct attach_args *a = state->input;
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->live;
		return 0;
	case OPT_CGROUP:
		a->cgroup = arg;
		return 0;
	case OPT_CAPACITY:
		a->capacity = (uint32_t)dialctl_parse_number(state, "--capacity", arg, MIN_CAPACITY,
							      MAX_CAPACITY);
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "bpf attach takes no arguments");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp attach_argp = { options, parse, NULL, doc, live_children, NULL, NULL };

/* The links before: were they here already, or on another cgroup? */
static void print_link_change(const struct kern_status *before, uint64_t cgid)
{
	int here = 0, elsewhere = 0;
	for (int i = 0; i < 3; i++) {
		if (!before->links[i].pinned)
			continue;
		if (before->links[i].cgroup_id == cgid)
			here++;
		else
			elsewhere++;
	}
	if (here == 3)
		printf("links     were attached here: programs replaced in place, one attachment each\n");
	else if (elsewhere)
		printf("links     moved from another cgroup (%d link%s)\n", elsewhere,
		       elsewhere == 1 ? "" : "s");
	else
		printf("links     new, pinned under the pin dir\n");
}

int verb_bpf_attach(int argc, char **argv)
{
	struct attach_args a = { 0 };
	argp_parse(&attach_argp, argc, argv, 0, NULL, &a);

	char err[1024] = "", cgroup[1024];
	int e = 0;
	if (a.cgroup)
		snprintf(cgroup, sizeof(cgroup), "%s", a.cgroup);
	else
		e = kern_cgroup_default(cgroup, sizeof(cgroup), err, sizeof(err));
	if (e < 0)
		return dialctl_kern_fail(NULL, e, err);
	struct kern_status before, after;
	if (kern_status(a.live.pin_dir, &before, err, sizeof(err)) < 0)
		memset(&before, 0, sizeof(before)); /* reported by kern_open below, if it matters */

	struct kern_opts o = { .pin_dir = a.live.pin_dir, .cgroup = cgroup, .capacity = a.capacity };
	struct kern *k;
	int lock;
	int status = dialctl_lock_pins(a.live.pin_dir, true, "bpf attach", &lock);
	if (status != DIALCTL_EXIT_OK)
		return status;
	if ((e = kern_open(&k, &o, err, sizeof(err))) < 0) {
		kern_unlock(lock);
		return dialctl_kern_fail("attach", e, err);
	}
	bool fresh = kern_fresh(k), migrated = kern_meta_migrated(k);
	uint32_t capacity = kern_capacity(k);
	kern_close(k); /* the pinned links keep the programs attached */
	kern_unlock(lock);
	if ((e = kern_status(a.live.pin_dir, &after, err, sizeof(err))) < 0)
		return dialctl_kern_fail("attached, but cannot read the status", e, err);

	printf("attached  cgroup %s (id %llu)\n", cgroup,
	       (unsigned long long)kern_cgroup_id(cgroup));
	report_links_text(stdout, &after);
	print_link_change(&before, kern_cgroup_id(cgroup));
	if (fresh)
		printf("maps      created under %s: book of %u slots, empty\n", a.live.pin_dir,
		       capacity);
	else
		printf("maps      reused under %s: book %u of %u slots used, counts kept\n",
		       a.live.pin_dir, after.book_used, capacity);
	if (migrated)
		printf("meta      migrated from the earlier layout meta_v1 (keys kept)\n");
	if (!fresh && a.capacity && a.capacity != capacity)
		printf("note      --capacity %u ignored: the pinned book has %u slots (resize with "
		       "`bpf detach --purge --yes`, then attach)\n",
		       a.capacity, capacity);
	return DIALCTL_EXIT_OK;
}
