/* SPDX-License-Identifier: Apache-2.0 */
/* file_io.c - whole-file reads and atomic replacement (see file_io.h). */
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int e = 0;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if (!S_ISREG(st.st_mode))
		e = -EISDIR;
	else if ((size_t)st.st_size > max)
		e = -EFBIG;
	*len = e == 0 || e == -EFBIG ? (size_t)st.st_size : 0;
	char *data = e == 0 ? malloc(*len ? *len : 1) : NULL;
	if (e == 0 && !data)
		e = -ENOMEM;
	for (size_t got = 0; e == 0 && got < *len;) {
		ssize_t n = read(fd, data + got, *len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			e = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	close(fd);
	if (e < 0) {
		free(data);
		return e;
	}
	*out = data;
	return 0;
}

int file_replace(const char *path, const void *data, size_t len, const char **step)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	*step = "create temporary file";
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;
		free(tmp);
		return e;
	}
	int e = 0;
	*step = "write";
	for (const char *p = data; e == 0 && len > 0;) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			e = -errno;
		else
			p += w, len -= (size_t)w;
	}
	if (e == 0) {
		*step = "fsync";
		if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
			e = -errno;
	}
	if (close(fd) < 0 && e == 0)
		e = -errno;
	if (e == 0) {
		*step = "rename";
		if (rename(tmp, path) < 0)
			e = -errno;
	}
	if (e < 0)
		unlink(tmp);
	free(tmp);
	return e;
}

int file_sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	int e = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return e;
}
