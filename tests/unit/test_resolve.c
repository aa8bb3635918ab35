/* SPDX-License-Identifier: Apache-2.0 */
/* test_resolve.c - host names in configured seeds and persistent peers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "book/resolve.h"

#define ID "0123456789abcdef0123456789abcdef01234567"

Test(resolve, a_host_name_becomes_its_address)
{
	struct netaddr na;
	char err[256] = "";
	/* localhost comes from /etc/hosts: no network needed. */
	cr_assert_eq(netaddr_resolve(ID "@localhost:26656", &na, err, sizeof(err)), 0, "%s", err);
	cr_assert(ip_is_loopback(&na.a), "localhost resolves to a loopback address");
	cr_assert_eq(na.a.port, 26656);
	cr_assert(na.has_id);
}

Test(resolve, ip_literals_need_no_lookup_and_errors_are_named)
{
	struct netaddr na;
	char err[256] = "";
	cr_assert_eq(netaddr_resolve(ID "@[2a01:4f8::1]:1", &na, err, sizeof(err)), 0);
	cr_assert_eq(na.a.family, MUKAN_AF_INET6);
	cr_assert_eq(netaddr_resolve("localhost:26656", &na, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "missing node ID"), "%s", err);
	cr_assert_lt(netaddr_resolve(ID "@no-such-host.invalid:26656", &na, err, sizeof(err)), 0);
	cr_assert(strstr(err, "cannot resolve 'no-such-host.invalid'"), "%s", err);
}
