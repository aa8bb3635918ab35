/* SPDX-License-Identifier: Apache-2.0 */
/* args.c - FILE, ADDR and --src for the book verbs' argp parsers (see args.h). */
#include "args.h"
#include "dialctl.h"

error_t args_file(struct argp_state *state, const char *arg, const char **file)
{
	if (state->arg_num >= 1)
		argp_error(state, "too many arguments (want FILE)");
	*file = arg;
	return 0;
}

error_t args_need_file(struct argp_state *state, const char *file)
{
	if (!file)
		argp_error(state, "missing FILE");
	return 0;
}

bool args_file_then_addr(struct argp_state *state, const char *arg, const char **file,
			 const char *usage)
{
	if (state->arg_num == 0) {
		*file = arg;
		return false;
	}
	if (state->arg_num == 1)
		return true;
	argp_error(state, "too many arguments (want %s)", usage);
	return false;
}

void args_need_file_addr(struct argp_state *state, const char *file, const char *addr)
{
	if (!addr)
		argp_error(state, "missing %s", file ? "ADDR" : "FILE and ADDR");
}

void args_netaddr(struct argp_state *state, const char *what, const char *text, unsigned flags,
		  struct netaddr *out)
{
	char err[256];
	if (netaddr_parse(text, flags, out, NULL, 0, err, sizeof(err)) < 0)
		argp_error(state, "%s: %s", what, err);
}

void args_peer(struct argp_state *state, const char *arg, uint8_t id[MUKAN_ID_LEN],
	       const char **peer)
{
	struct netaddr full;
	bool has_full;
	char err[256];
	if (dialctl_parse_peer(arg, id, &full, &has_full, err, sizeof(err)) < 0)
		argp_error(state, "%s", err);
	*peer = arg;
}

void args_addr(struct argp_state *state, const char *arg, struct addr_src *as)
{
	args_netaddr(state, "ADDR", arg, NETADDR_NEED_ID, &as->addr);
	as->addr_text = arg;
}

error_t args_src(struct argp_state *state, const char *arg, struct addr_src *as)
{
	args_netaddr(state, "--src", arg, 0, &as->src);
	as->src_text = arg;
	return 0;
}

void args_src_default(struct addr_src *as)
{
	if (!as->src_text)
		as->src = as->addr;
}
