/* SPDX-License-Identifier: Apache-2.0 */
/*
 * live_write.c - how every live writer of records (book add --live, book
 * import --live) gets its edit applied, one writer at a time:
 *
 *   the pin-dir lock is free      take it, apply the edit to the maps, bump
 *                                 the records generation, release it;
 *   a daemon holds it             send the edit to the daemon's control
 *                                 socket (named in meta) and print its answer;
 *   another process holds it      retry for up to DIALCTL_LOCK_WAIT_MS, then
 *                                 fail naming it.
 *
 * Either way the edit runs through live_edit_apply, so the output is the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/live_edit.h"
#include "dialctl.h"
#include "kern/kern.h"

#define DIALCTL_LOCK_WAIT_MS 10000
#define RETRY_MS 25
#define ANSWER_TIMEOUT_S 120 /* a daemon importing a big book takes a while */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One request line, one JSON answer; NULL when the daemon cannot be reached
 * (*sent false: try again) or did not answer (*sent true).
 */
static json_t *ask_daemon(const char *path, json_t *request, bool *sent)
{
	*sent = false;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return NULL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	char *line = json_dumps(request, JSON_COMPACT);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!line || s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		free(line);
		if (s >= 0)
			close(s);
		return NULL;
	}
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t len = strlen(line);
	line[len] = '\n'; /* the NUL becomes the line end */
	*sent = send(s, line, len + 1, MSG_NOSIGNAL) == (ssize_t)(len + 1);
	free(line);
	size_t cap = 65536, n = 0;
	char *buf = *sent ? malloc(cap) : NULL;
	for (ssize_t r; buf && (r = recv(s, buf + n, cap - n - 1, 0)) > 0;) {
		n += (size_t)r;
		if (n + 1 == cap) {
			char *bigger = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(s);
	json_error_t je;
	json_t *answer = buf && n ? json_loadb(buf, n, 0, &je) : NULL;
	free(buf);
	return answer;
}

/* With the lock held: the edit on the maps, then the generation bump. */
static json_t *apply_here(const struct live_opts *o, bool strict, json_t *request, int *status)
{
	struct kern *k;
	*status = dialctl_open_pinned(o, &k);
	if (*status != DIALCTL_EXIT_OK)
		return NULL;
	if (kern_meta(k)->state == MUKAN_META_IMPORTING) {
		fprintf(stderr,
			DIALCTL_NAME ": %s: an import of %s into this map was cut short; start "
				     "mukan-dialerd to finish it before editing the live book\n",
			o->pin_dir,
			kern_meta(k)->book_path[0] ? (const char *)kern_meta(k)->book_path
						   : "a book file");
		kern_close(k);
		*status = DIALCTL_EXIT_FAIL;
		return NULL;
	}
	struct book *live;
	char err[512] = "";
	int e = kern_book_open(k, strict, dialctl_random_seed(), &live, err, sizeof(err));
	if (e < 0) {
		*status = dialctl_kern_fail("cannot open the live book", e, err);
		kern_close(k);
		return NULL;
	}
	struct live_edit_ctx c = { .k = k, .live = live, .now = kern_now() };
	json_t *answer = live_edit_apply(&c, request);
	if (c.changed)
		kern_records_bump(k); /* a reader holding a copy knows to read again */
	book_free(live);
	kern_close(k);
	return answer;
}

json_t *dialctl_live_write(const struct live_opts *o, bool strict, json_t *request,
			   int *status)
{
	int64_t end = mono_ms() + DIALCTL_LOCK_WAIT_MS;
	char err[512] = "";
	int fd, holder = 0;
	for (;;) { /* ends at the deadline */
		int e = kern_lock(o->pin_dir, false, &fd, &holder, err, sizeof(err));
		if (e == 0) {
			json_t *answer = apply_here(o, strict, request, status);
			kern_unlock(fd);
			return answer;
		}
		if (e == -ENOENT) {
			/* Nothing pinned: the usual message and hint. */
			struct kern *k;
			*status = dialctl_open_pinned(o, &k);
			if (*status == DIALCTL_EXIT_OK)
				kern_close(k);
			*status = DIALCTL_EXIT_FAIL;
			return NULL;
		}
		if (e != -EWOULDBLOCK) {
			*status = dialctl_kern_fail(NULL, e, err);
			return NULL;
		}
		/* Held: a daemon (meta names it and its socket) takes the edit itself. */
		struct kern *k;
		if (kern_open_pinned(&k, o->pin_dir, err, sizeof(err)) == 0) {
			const struct mukan_book_meta *m = kern_meta(k);
			char control[MUKAN_META_CONTROL_LEN + 1] = "";
			bool daemon = holder && m->owner_pid == holder && m->control[0];
			if (daemon)
				snprintf(control, sizeof(control), "%.*s", MUKAN_META_CONTROL_LEN,
					 (const char *)m->control);
			kern_close(k);
			bool sent = false;
			json_t *answer = daemon ? ask_daemon(control, request, &sent) : NULL;
			if (answer) {
				*status = DIALCTL_EXIT_OK;
				return answer;
			}
			if (sent) {
				/* It has the edit; sending it again could apply it twice. */
				fprintf(stderr,
					DIALCTL_NAME ": mukan-dialerd (pid %d) took the edit on %s "
						     "but gave no answer within %d s; see its log\n",
					holder, control, ANSWER_TIMEOUT_S);
				*status = DIALCTL_EXIT_FAIL;
				return NULL;
			}
		}
		if (mono_ms() >= end)
			break;
		usleep(RETRY_MS * 1000);
	}
	fprintf(stderr,
		DIALCTL_NAME ": %s: another process (pid %d) held the pin dir for %d s and no daemon "
			     "answered for it; nothing was changed, try again\n",
		o->pin_dir, holder, DIALCTL_LOCK_WAIT_MS / 1000);
	*status = DIALCTL_EXIT_FAIL;
	return NULL;
}

bool dialctl_answer_failed(json_t *answer)
{
	if (json_is_true(json_object_get(answer, "ok")))
		return false;
	const char *why = json_string_value(json_object_get(answer, "error"));
	if (why)
		fprintf(stderr, DIALCTL_NAME ": %s\n", why);
	return true;
}

/* Is the lock's holder the daemon meta names? */
static bool daemon_holds(const char *pin_dir, int holder)
{
	struct kern *k;
	char err[256];
	if (!holder || kern_open_pinned(&k, pin_dir, err, sizeof(err)) < 0)
		return false;
	bool daemon = kern_meta(k)->owner_pid == holder;
	kern_close(k);
	return daemon;
}

int dialctl_lock_pins(const char *pin_dir, bool create, const char *verb, int *fd)
{
	char err[512] = "";
	int holder = 0;
	int e = kern_lock(pin_dir, create, fd, &holder, err, sizeof(err));
	if (e == -EWOULDBLOCK && !daemon_holds(pin_dir, holder))
		e = kern_lock_wait(pin_dir, create, DIALCTL_LOCK_WAIT_MS, fd, &holder, err,
				   sizeof(err));
	if (e == 0)
		return DIALCTL_EXIT_OK;
	if (e == -EWOULDBLOCK && daemon_holds(pin_dir, holder))
		fprintf(stderr,
			DIALCTL_NAME ": %s: mukan-dialerd (pid %d) holds the pin dir %s; stop it "
				     "first (nothing was changed)\n",
			verb, holder, pin_dir);
	else if (e == -EWOULDBLOCK)
		fprintf(stderr,
			DIALCTL_NAME ": %s: pid %d held the pin dir %s for %d s; nothing was changed, "
				     "try again\n",
			verb, holder, pin_dir, DIALCTL_LOCK_WAIT_MS / 1000);
	else
		dialctl_kern_fail(verb, e, err);
	return DIALCTL_EXIT_FAIL;
}
