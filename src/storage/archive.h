/*
 * archive.h — the snapshot archive: many files in one checksummed file.
 *
 * Layout (little-endian; documented in docs/format/archive.md):
 *   header  : magic "VSARCHV1" (8) | u32 version (=1) | u32 flags (=0) |
 *             u64 entry count | u64 header checksum (XXH3 of the 24 bytes before it)
 *   entry*  : u32 name length | u32 mode (0644) | u64 data length |
 *             u64 data checksum (XXH3 of data) | u64 entry-header checksum (XXH3 of the
 *             name-length..data-checksum fields + name) | name bytes | data bytes
 *   trailer : magic "VSARCEND" (8) | u64 entry count | u64 checksum of everything
 *             before the trailer (streamed XXH3)
 *
 * Entry names are relative paths of at most 255 bytes made of components of
 * [A-Za-z0-9._-], separated by '/', none of them "." or ".." or empty, not starting with
 * '/': an archive can never write outside the directory it is extracted into
 * (no path traversal, no absolute paths, no symlinks — only regular files are stored).
 *
 * Writing goes to `path.tmp`, is fsync'd, then renamed to `path` (a crash never leaves
 * a half archive under the final name). Reading verifies everything (trailer checksum,
 * per-entry checksums, names, sizes against the file size) before extracting anything;
 * extraction goes into a fresh directory that the caller names (it must not exist) and
 * is removed again if anything fails. All I/O goes through os/file.h (fault injection)
 * and all memory through util/alloc.h.
 *
 * Sharpened by the implementation (details in docs/format/archive.md):
 *   - Entry names are 1..255 bytes; no two entries may share a name, and no name may be
 *     the directory of another ("a" and "a/b"): the writer refuses that with VS_EEXIST,
 *     the reader with VS_ENAME. The mode field is always 0644.
 *   - The 32-byte header frame (magic, version, flags, count, checksum) is the same in
 *     every version: a reader checks the header checksum before the version, so a
 *     corrupt header is VS_ECORRUPT and only an intact newer one is VS_EVERSION.
 *   - The count in the header is known only at finish, so finish fills the header in
 *     and reads the file back once to compute the trailer checksum.
 *   - Every function may also fail with VS_ENOMEM and the I/O codes of os/file.h
 *     (VS_EIO, VS_ENOSPC, ...). On any failure of finish nothing is left at path or
 *     path.tmp (if only the final directory fsync fails, the renamed archive is removed
 *     too: an archive that cannot be called durable is not reported as written).
 */
#ifndef VS_STORAGE_ARCHIVE_H
#define VS_STORAGE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct vs__archive_writer vs__archive_writer;

int vs__archive_create(const char *path, vs__archive_writer **out, vs__err *e);
/* Adds the regular file at src_path under the archive name `name`. VS_ENAME for a bad
 * name, VS_EEXIST for a repeated or clashing one, VS_EINVAL if src_path is not a regular
 * file; these and errors reading src_path leave the writer usable. An error writing the
 * archive itself makes every later call on w fail (the bytes on disk are unknown). */
int vs__archive_add_file(vs__archive_writer *w, const char *name, const char *src_path,
                         vs__err *e);
/* Adds len bytes from memory under `name`. */
int vs__archive_add_mem(vs__archive_writer *w, const char *name, const void *data,
                        size_t len, vs__err *e);
/* Writes the trailer, fsyncs, renames into place; frees w either way. */
int vs__archive_finish(vs__archive_writer *w, vs__err *e);
/* Discards a partly written archive (removes the temp file); frees w. NULL ok. */
void vs__archive_abort(vs__archive_writer *w);

/* Verifies the whole archive without extracting. Codes: VS_ENOTFOUND (no file),
 * VS_EFORMAT (not an archive / truncated), VS_ECORRUPT (checksum mismatch),
 * VS_EVERSION (newer version), VS_ENAME (bad entry name). */
int vs__archive_verify(const char *path, vs__err *e);
/* Verifies, then extracts into dest_dir (created; must not exist: VS_EEXIST, also for a
 * dangling symlink). The checksums are checked again while extracting; files and
 * directories are fsync'd. On failure nothing is left at dest_dir. */
int vs__archive_extract(const char *path, const char *dest_dir, vs__err *e);
/* Reads one entry into memory (vs__malloc'd, caller frees) after verifying the archive
 * (in the same pass; nothing is returned unless the whole archive verifies). VS_ENOTFOUND
 * if there is no such entry. */
int vs__archive_read_entry(const char *path, const char *name, uint8_t **data, size_t *len,
                           vs__err *e);
/* 1 if name is a valid entry name (rules above). */
int vs__archive_name_ok(const char *name);

#endif
