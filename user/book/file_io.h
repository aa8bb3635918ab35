/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file_io.h - whole-file reads and atomic replacement, shared by
 * addrbook.json and its binary cache.
 */
#ifndef MUKAN_FILE_IO_H
#define MUKAN_FILE_IO_H

#include <stddef.h>

/*
 * Read a regular file of at most max bytes into a malloc'ed buffer.
 * -ENOENT, -EISDIR (not a regular file), -EFBIG (*len set to the size),
 * -ENOMEM, -EIO (it shrank), or another -errno.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/*
 * Replace path atomically: a temporary file beside it, written, made 0644,
 * fsynced, renamed over path. On failure the temporary file is removed and
 * *step names what failed ("create temporary file", "write", "fsync",
 * "rename"). The directory is not synced: see file_sync_dir.
 */
int file_replace(const char *path, const void *data, size_t len, const char **step);

/* fsync the directory holding path, so a rename into it is durable. */
int file_sync_dir(const char *path);

#endif
