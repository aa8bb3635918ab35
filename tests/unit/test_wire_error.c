/* SPDX-License-Identifier: Apache-2.0 */
/* test_wire_error.c - every failure code has a stable, distinct name and a step. */
#include <ctype.h>
#include <string.h>

#include <criterion/criterion.h>

#include "wire/wire_error.h"

Test(wire_error, every_code_named_once)
{
	for (int e = 0; e < WIRE_N_ERRORS; e++) {
		const char *name = wire_error_name((enum wire_error)e);
		cr_assert_str_neq(name, "unknown", "code %d has no name", e);
		for (const char *p = name; *p; p++)
			cr_assert(islower((unsigned char)*p) || *p == '_',
				  "name \"%s\" is not snake_case (logs and JSON use it)", name);
		for (int f = 0; f < e; f++)
			cr_assert_str_neq(name, wire_error_name((enum wire_error)f),
					  "codes %d and %d share the name %s", f, e, name);
		cr_assert_lt((int)wire_error_step((enum wire_error)e), WIRE_N_STEPS);
	}
	cr_assert_str_eq(wire_error_name(WIRE_N_ERRORS), "unknown");
	cr_assert_str_eq(wire_error_name((enum wire_error)-1), "unknown");
}

Test(wire_error, steps_of_step_specific_codes)
{
	cr_assert_eq(wire_error_step(WIRE_ERR_LOW_ORDER_DH), WIRE_STEP_KEY_EXCHANGE);
	cr_assert_eq(wire_error_step(WIRE_ERR_WRONG_ID), WIRE_STEP_AUTH);
	cr_assert_eq(wire_error_step(WIRE_ERR_BAD_SIGNATURE), WIRE_STEP_AUTH);
	cr_assert_eq(wire_error_step(WIRE_ERR_NETWORK_MISMATCH), WIRE_STEP_NODE_INFO);
	cr_assert_eq(wire_error_step(WIRE_ERR_PEX_UNSOLICITED), WIRE_STEP_PEX);
	/* Frames fail at whatever step they carry: the session says which. */
	cr_assert_eq(wire_error_step(WIRE_ERR_BAD_MAC), WIRE_STEP_NONE);
	cr_assert_str_eq(wire_error_name(WIRE_ERR_BAD_MAC), "bad_mac");
	cr_assert_str_eq(wire_error_name(WIRE_ERR_WRONG_ID), "wrong_id");
	for (int s = 0; s < WIRE_N_STEPS; s++)
		cr_assert_str_neq(wire_step_name((enum wire_step)s), "unknown");
	cr_assert_str_eq(wire_step_name(WIRE_STEP_AUTH), "auth");
	cr_assert_str_eq(wire_step_name(WIRE_N_STEPS), "unknown");
}
