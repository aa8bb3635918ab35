/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kern_lock.c - one userspace writer per pin directory: flock(LOCK_EX) on
 * the directory itself (bpffs directories take flocks). The holder's pid is
 * read back from /proc/locks, so a refusal can name it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kern_internal.h"

#define LOCK_RETRY_MS 20

int kern_flock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:2b:5678 0 EOF" (major:minor:inode) */
	char line[256];
	int pid = 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		char kind[16], mode[16], rw[16];
		unsigned maj, min;
		unsigned long ino;
		int p;
		if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%lu", kind, mode, rw, &p, &maj, &min,
			   &ino) == 7 &&
		    strcmp(kind, "FLOCK") == 0 && ino == (unsigned long)st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev))
			pid = p;
	}
	fclose(f);
	return pid;
}

int kern_lock(const char *pin_dir, bool create, int *fd, int *holder, char *err, size_t errsz)
{
	const char *dir = pin_dir ? pin_dir : KERN_PIN_DIR;
	*fd = -1;
	*holder = 0;
	if (create) {
		int e = kern_ensure_bpffs(err, errsz);
		if (e < 0)
			return e;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			e = -errno;
			snprintf(err, errsz, "cannot create %s: %s", dir, strerror(-e));
			return e;
		}
	}
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		int e = -errno;
		snprintf(err, errsz, "cannot open the pin dir %s: %s", dir, strerror(-e));
		return e;
	}
	if (flock(d, LOCK_EX | LOCK_NB) == 0) {
		*fd = d;
		return 0;
	}
	int e = -errno;
	if (e == -EWOULDBLOCK) {
		*holder = kern_flock_holder(d);
		if (*holder)
			snprintf(err, errsz, "the pin dir %s is locked by pid %d", dir, *holder);
		else
			snprintf(err, errsz, "the pin dir %s is locked by another process", dir);
	} else {
		snprintf(err, errsz, "cannot lock the pin dir %s: %s", dir, strerror(-e));
	}
	close(d);
	return e;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kern_lock_wait(const char *pin_dir, bool create, int wait_ms, int *fd, int *holder,
		   char *err, size_t errsz)
{
	int64_t end = mono_ms() + wait_ms;
	for (;;) { /* ends at the deadline */
		int e = kern_lock(pin_dir, create, fd, holder, err, errsz);
		if (e != -EWOULDBLOCK || mono_ms() >= end)
			return e;
		usleep(LOCK_RETRY_MS * 1000);
	}
}

void kern_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* the flock goes with the last descriptor */
}
