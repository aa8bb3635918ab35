/* SPDX-License-Identifier: Apache-2.0 */
/* wire_error.c - stable names of the session failure codes (see wire_error.h). */
#include "wire_error.h"

#include <stddef.h>

struct error_info {
	const char *name;
	enum wire_step step;
};

/* Indexed by the code, so a new code without a name fails the unit test. */
static const struct error_info errors[WIRE_N_ERRORS] = {
	[WIRE_OK] = { "ok", WIRE_STEP_NONE },
	[WIRE_ERR_EPH_KEY_MALFORMED] = { "eph_key_malformed", WIRE_STEP_KEY_EXCHANGE },
	[WIRE_ERR_LOW_ORDER_DH] = { "low_order_dh", WIRE_STEP_KEY_EXCHANGE },
	[WIRE_ERR_SAME_EPH_KEY] = { "same_eph_key", WIRE_STEP_KEY_EXCHANGE },
	/* Frame and message errors can happen at any step: the session records which. */
	[WIRE_ERR_BAD_MAC] = { "bad_mac", WIRE_STEP_NONE },
	[WIRE_ERR_FRAME_TOO_LARGE] = { "frame_too_large", WIRE_STEP_NONE },
	[WIRE_ERR_TRUNCATED] = { "truncated", WIRE_STEP_NONE },
	[WIRE_ERR_MSG_TOO_LARGE] = { "msg_too_large", WIRE_STEP_NONE },
	[WIRE_ERR_MSG_MALFORMED] = { "msg_malformed", WIRE_STEP_NONE },
	[WIRE_ERR_AUTH_KEY_TYPE] = { "auth_key_type", WIRE_STEP_AUTH },
	[WIRE_ERR_BAD_SIGNATURE] = { "bad_signature", WIRE_STEP_AUTH },
	[WIRE_ERR_WRONG_ID] = { "wrong_id", WIRE_STEP_AUTH },
	[WIRE_ERR_NODEINFO_INVALID] = { "nodeinfo_invalid", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_NODEINFO_ID_MISMATCH] = { "nodeinfo_id_mismatch", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_NETWORK_MISMATCH] = { "network_mismatch", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_VERSION_MISMATCH] = { "version_mismatch", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_NO_COMMON_CHANNEL] = { "no_common_channel", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_SELF] = { "self", WIRE_STEP_NODE_INFO },
	[WIRE_ERR_UNKNOWN_CHANNEL] = { "unknown_channel", WIRE_STEP_SESSION },
	[WIRE_ERR_PONG_TIMEOUT] = { "pong_timeout", WIRE_STEP_SESSION },
	[WIRE_ERR_TIMEOUT] = { "timeout", WIRE_STEP_NONE },
	[WIRE_ERR_CLOSED] = { "closed", WIRE_STEP_NONE },
	[WIRE_ERR_PEX_UNSOLICITED] = { "pex_unsolicited", WIRE_STEP_PEX },
	[WIRE_ERR_PEX_TOO_FREQUENT] = { "pex_too_frequent", WIRE_STEP_PEX },
	[WIRE_ERR_PEX_TOO_MANY_ADDRS] = { "pex_too_many_addrs", WIRE_STEP_PEX },
	[WIRE_ERR_PEX_MALFORMED] = { "pex_malformed", WIRE_STEP_PEX },
};

static const char *const steps[WIRE_N_STEPS] = {
	[WIRE_STEP_NONE] = "none",
	[WIRE_STEP_KEY_EXCHANGE] = "key_exchange",
	[WIRE_STEP_AUTH] = "auth",
	[WIRE_STEP_NODE_INFO] = "node_info",
	[WIRE_STEP_SESSION] = "session",
	[WIRE_STEP_PEX] = "pex",
};

const char *wire_error_name(enum wire_error e)
{
	if ((unsigned)e >= WIRE_N_ERRORS || !errors[e].name)
		return "unknown";
	return errors[e].name;
}

enum wire_step wire_error_step(enum wire_error e)
{
	if ((unsigned)e >= WIRE_N_ERRORS)
		return WIRE_STEP_NONE;
	return errors[e].step;
}

const char *wire_step_name(enum wire_step s)
{
	if ((unsigned)s >= WIRE_N_STEPS || !steps[s])
		return "unknown";
	return steps[s];
}
