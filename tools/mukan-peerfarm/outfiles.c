/* SPDX-License-Identifier: Apache-2.0 */
/* outfiles.c - the output directory, atomic writes, seeds.txt. */
#include "outfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outdir_prepare(const char *dir, char *abs, char *err, size_t errsz)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errsz, "--out %s: %s", dir, strerror(e));
		return -e;
	}
	if (!realpath(dir, abs)) {
		int e = errno;
		snprintf(err, errsz, "--out %s: %s", dir, strerror(e));
		return -e;
	}
	return 0;
}

int out_forget_manifest(const char *dir, char *err, size_t errsz)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" OUT_MANIFEST, dir);
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int write_all(int fd, const char *text, size_t len)
{
	for (size_t off = 0; off < len;) { /* ends: each pass writes at least a byte */
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
	}
	return 0;
}

int out_write(const char *dir, const char *name, const char *text, size_t len, char *err,
	      size_t errsz)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = fd < 0 ? -errno : 0;
	if (!e)
		e = write_all(fd, text, len);
	if (!e && fsync(fd) < 0)
		e = -errno;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errsz, "%s: %s", path, strerror(-e));
	}
	return e;
}

int out_seeds(const struct farm *f, const char *dir, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&text, &len);
	if (!o) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	const char *sep = "";
	for (uint32_t i = 0; i < f->n_peers; i++) {
		if (!f->peers[i].seed)
			continue;
		char s[NETADDR_STRLEN];
		netaddr_format(&f->peers[i].na, s);
		fprintf(o, "%s%s", sep, s);
		sep = ",";
	}
	fputc('\n', o);
	if (fclose(o) != 0) {
		free(text);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	int e = out_write(dir, OUT_SEEDS, text, len, err, errsz);
	free(text);
	return e;
}
