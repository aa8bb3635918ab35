/* SPDX-License-Identifier: Apache-2.0 */
/* engine_outcome.c - outcome names and the errno -> outcome rule (pure). */
#include <errno.h>

#include "engine.h"

const char *dial_outcome_name(enum dial_outcome o)
{
	switch (o) {
	case DIAL_CONNECTED:
		return "connected";
	case DIAL_REFUSED:
		return "refused";
	case DIAL_TIMED_OUT:
		return "timed-out";
	case DIAL_UNREACHABLE:
		return "unreachable";
	case DIAL_LOCAL_ERROR:
		return "local-error";
	case DIAL_FAILED:
		return "failed";
	case DIAL_CANCELLED:
		return "cancelled";
	default:
		return "unknown";
	}
}

/*
 * The errnos an ICMP destination-unreachable becomes (icmp_err_convert in
 * the kernel: net, host, unknown host, isolated, filtered) are the network's
 * answer; the ones that say this host could not even try are local, so the
 * manager can keep them from counting against the peer.
 */
enum dial_outcome dial_outcome_from_errno(int err)
{
	switch (err) {
	case 0:
		return DIAL_CONNECTED;
	case ECONNREFUSED:
		return DIAL_REFUSED;
	case ETIMEDOUT:
	case ETIME:
		return DIAL_TIMED_OUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENONET:
		return DIAL_UNREACHABLE;
	case ECANCELED:
		return DIAL_CANCELLED;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL:
	case EADDRINUSE:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case EINVAL:
	case EPERM:  /* a cgroup connect hook (our own gate) refused it */
	case EACCES: /* a prohibit route */
	case ENETDOWN:
	case EBADF:
	case ENOTSOCK:
		return DIAL_LOCAL_ERROR;
	default:
		return DIAL_FAILED;
	}
}
