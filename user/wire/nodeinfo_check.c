/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodeinfo_check.c - upstream's checks of a received NodeInfo: Validate,
 * the ID against the authenticated key, self, CompatibleWith; and the
 * peer's self-reported address (see nodeinfo.h).
 */
#include "nodeinfo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int say(char *why, size_t whysz, int rc, const char *fmt, ...)
{
	if (why && whysz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int refuse(enum wire_error *err, enum wire_error code)
{
	*err = code;
	return -EPROTO;
}

/*
 * Bytes from a peer for a log line: at most max of them, anything outside
 * printable ASCII (and the quote and backslash) as \xNN, so no log line can
 * be forged; "..." when cut. out holds 4 * max + 4 bytes.
 */
static const char *escape(const char *s, size_t len, size_t max, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, shown = len > max ? max : len;
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			out[n++] = (char)c;
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	if (shown < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

#define QUOTE_MAX 40
static const char *quote(struct nodeinfo_text t, char out[4 * QUOTE_MAX + 4])
{
	return escape(t.s, t.len, QUOTE_MAX, out);
}

/* cmtstrings.IsASCIIText: non-empty, every byte printable ASCII (0x20..0x7e). */
static bool ascii_text(struct nodeinfo_text t)
{
	if (t.len == 0)
		return false;
	for (size_t i = 0; i < t.len; i++)
		if ((unsigned char)t.s[i] < 0x20 || (unsigned char)t.s[i] > 0x7e)
			return false;
	return true;
}

/* IsASCIIText and ASCIITrim (which drops every space) leaves something. */
static bool ascii_text_not_blank(struct nodeinfo_text t)
{
	if (!ascii_text(t))
		return false;
	for (size_t i = 0; i < t.len; i++)
		if (t.s[i] != ' ')
			return true;
	return false;
}

static bool text_is(struct nodeinfo_text t, const char *s)
{
	return t.len == strlen(s) && memcmp(t.s, s, t.len) == 0;
}

static bool text_eq(struct nodeinfo_text a, struct nodeinfo_text b)
{
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

/*
 * Could Go's resolver look this name up (net.isDomainName)? Upstream
 * resolves a host name in listen_addr during Validate; a sans-IO check can
 * only refuse what no resolver would accept and leave the lookup to the
 * caller (nodeinfo_netaddr gives the name back).
 */
static bool domain_name(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 254 || (len == 254 && s[253] != '.'))
		return false;
	char last = '.';
	bool letter = false; /* Go: a name is not all digits */
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
			letter = true;
			label++;
		} else if (c >= '0' && c <= '9') {
			label++;
		} else if (c == '-') {
			if (last == '.')
				return false;
			letter = true;
			label++;
		} else if (c == '.') {
			if (last == '.' || last == '-')
				return false;
			label = 0;
		} else {
			return false;
		}
		if (label > 63)
			return false;
		last = c;
	}
	return letter && last != '-';
}

/*
 * upstream IDAddressString(id, listen_addr) then NewNetAddressString: the
 * protocol prefix of listen_addr dropped (the text between the first "://"
 * and any second one, as Go's strings.Split(..)[1]), "id@" put in front,
 * then parsed as id@host:port.
 */
static int listen_parse(const struct nodeinfo *ni, struct netaddr *out, char *name,
			size_t namesz, char *why, size_t whysz)
{
	char q[4 * QUOTE_MAX + 4];
	if (strlen(ni->id.s) != ni->id.len || strlen(ni->listen_addr.s) != ni->listen_addr.len)
		return say(why, whysz, -EINVAL, "id or listen_addr holds a NUL byte");
	const char *hostport = ni->listen_addr.s;
	size_t hlen = ni->listen_addr.len;
	const char *proto = strstr(hostport, "://");
	if (proto) {
		hostport = proto + 3;
		const char *second = strstr(hostport, "://");
		hlen = second ? (size_t)(second - hostport) : strlen(hostport);
	}
	char idaddr[2 * MUKAN_ID_LEN + 1 + 300];
	if (ni->id.len + 1 + hlen >= sizeof(idaddr))
		return say(why, whysz, -EINVAL, "listen_addr \"%s\" too long",
			   quote(ni->listen_addr, q));
	memcpy(idaddr, ni->id.s, ni->id.len);
	idaddr[ni->id.len] = '@';
	memcpy(idaddr + ni->id.len + 1, hostport, hlen);
	idaddr[ni->id.len + 1 + hlen] = '\0';

	char reason[NODEINFO_WHY_LEN];
	int rc = netaddr_parse(idaddr, NETADDR_NEED_ID | NETADDR_ALLOW_NAME, out, name, namesz,
			       reason, sizeof(reason));
	if (rc == -EINVAL) { /* the parser's reason quotes the peer's bytes: escape them */
		char safe[4 * NODEINFO_WHY_LEN + 4];
		return say(why, whysz, -EINVAL, "id@listen_addr does not parse: %s",
			   escape(reason, strlen(reason), NODEINFO_WHY_LEN, safe));
	}
	if (rc == -EAGAIN && !domain_name(name))
		return say(why, whysz, -EINVAL, "listen_addr host \"%s\" is neither an IP nor a name",
			   quote((struct nodeinfo_text){ name, strlen(name) }, q));
	return rc;
}

int nodeinfo_netaddr(const struct nodeinfo *ni, struct netaddr *out, char *name,
		     size_t namesz)
{
	return listen_parse(ni, out, name, namesz, NULL, 0);
}

int nodeinfo_validate(const struct nodeinfo *ni, char *why, size_t whysz)
{
	char q[4 * QUOTE_MAX + 4];
	struct netaddr na;
	char name[256];
	int rc = listen_parse(ni, &na, name, sizeof(name), why, whysz);
	if (rc == -EINVAL)
		return rc;

	if (ni->version.len > 0 && !ascii_text_not_blank(ni->version))
		return say(why, whysz, -EINVAL, "version \"%s\" is not printable ASCII text",
			   quote(ni->version, q));

	if (ni->n_channels > NODEINFO_MAX_CHANNELS)
		return say(why, whysz, -EINVAL, "%zu channels, at most %d", ni->n_channels,
			   NODEINFO_MAX_CHANNELS);
	bool seen[256] = { false };
	for (size_t i = 0; i < ni->n_channels; i++) {
		if (seen[ni->channels[i]])
			return say(why, whysz, -EINVAL, "channel 0x%02x listed twice",
				   ni->channels[i]);
		seen[ni->channels[i]] = true;
	}

	if (!ascii_text_not_blank(ni->moniker))
		return say(why, whysz, -EINVAL,
			   "moniker \"%s\" is not non-empty printable ASCII text",
			   quote(ni->moniker, q));

	if (!text_is(ni->tx_index, "") && !text_is(ni->tx_index, "on") &&
	    !text_is(ni->tx_index, "off"))
		return say(why, whysz, -EINVAL, "tx_index \"%s\" is not \"on\", \"off\" or empty",
			   quote(ni->tx_index, q));

	if (ni->rpc_address.len > 0 && !ascii_text_not_blank(ni->rpc_address))
		return say(why, whysz, -EINVAL, "rpc_address \"%s\" is not printable ASCII text",
			   quote(ni->rpc_address, q));
	return 0;
}

int nodeinfo_compatible(const struct nodeinfo *ours, const struct nodeinfo *theirs,
			enum wire_error *err, char *why, size_t whysz)
{
	char q1[4 * QUOTE_MAX + 4], q2[4 * QUOTE_MAX + 4];
	*err = WIRE_OK;
	if (ours->block != theirs->block)
		return say(why, whysz, refuse(err, WIRE_ERR_VERSION_MISMATCH),
			   "block protocol %llu, ours %llu", (unsigned long long)theirs->block,
			   (unsigned long long)ours->block);
	if (!text_eq(ours->network, theirs->network))
		return say(why, whysz, refuse(err, WIRE_ERR_NETWORK_MISMATCH),
			   "network \"%s\", ours \"%s\"", quote(theirs->network, q1),
			   quote(ours->network, q2));
	if (ours->n_channels == 0) /* upstream: no channels means "just testing" */
		return 0;
	for (size_t i = 0; i < ours->n_channels; i++)
		if (nodeinfo_has_channel(theirs, ours->channels[i]))
			return 0;
	return say(why, whysz, refuse(err, WIRE_ERR_NO_COMMON_CHANNEL),
		   "no channel in common (%zu theirs, %zu ours)", theirs->n_channels,
		   ours->n_channels);
}

int nodeinfo_check(const struct nodeinfo *ours, const struct nodeinfo *theirs,
		   const uint8_t auth_id[MUKAN_ID_LEN], enum wire_error *err, char *why,
		   size_t whysz)
{
	char q[4 * QUOTE_MAX + 4];
	*err = WIRE_OK;
	char reason[NODEINFO_WHY_LEN];
	if (nodeinfo_validate(theirs, reason, sizeof(reason)) < 0)
		return say(why, whysz, refuse(err, WIRE_ERR_NODEINFO_INVALID), "invalid NodeInfo: %s",
			   reason);

	/* Upstream compares the strings: the ID must be the lowercase hex exactly. */
	char auth_hex[2 * MUKAN_ID_LEN + 1];
	node_id_format(auth_id, auth_hex);
	if (!text_is(theirs->id, auth_hex))
		return say(why, whysz, refuse(err, WIRE_ERR_NODEINFO_ID_MISMATCH),
			   "NodeInfo ID %s, authenticated key's ID %s", quote(theirs->id, q),
			   auth_hex);

	if (text_eq(theirs->id, ours->id))
		return say(why, whysz, refuse(err, WIRE_ERR_SELF), "the peer is this node (%s)",
			   auth_hex);

	return nodeinfo_compatible(ours, theirs, err, why, whysz);
}
