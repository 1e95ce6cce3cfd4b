/*
 * fsutil.h — file-system helpers every binary needs: whole-file reads, atomic writes,
 * directories, advisory locks, and the checks that keep names safe as file names and
 * shell words.
 *
 * Atomic means: the data goes to "<path>.tmp.<pid>", is flushed with fsync, and is
 * renamed over <path>. A reader sees the old file or the new one, never half of one.
 */
#ifndef MRPC_CORE_FSUTIL_H
#define MRPC_CORE_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/*
 * Reads the whole file at `path` into a new buffer (NUL-terminated; the NUL is not
 * counted in *out_size). `max_size` bounds the size (0 = no bound). The caller frees
 * *out_data with free(). On failure *out_data is NULL. Only regular files are read: a
 * directory, FIFO, socket or device is refused at once, saying which (a FIFO would
 * otherwise block until some writer opens it).
 */
mrpc_status mrpc_file_read_all(const char *path, size_t max_size, char **out_data, size_t *out_size,
                               mrpc_error *err);

/* Writes `size` bytes to `path` atomically (temp file, fsync, rename). */
mrpc_status mrpc_file_write_atomic(const char *path, const void *data, size_t size, mrpc_error *err);

/* Writes the NUL-terminated `text` to `path` atomically unless the file already holds
 * exactly that text (a summary rewritten by every call keeps its time stamp). */
mrpc_status mrpc_file_write_text_if_changed(const char *path, const char *text, mrpc_error *err);

/*
 * Removes the temporary files that an atomic write of `path` leaves when its writer is
 * killed half-way ("<path>.tmp.*": mrpc_file_write_atomic's and the safetensors
 * writer's), those last modified before `before` (seconds since the epoch, as
 * clock_gettime(CLOCK_REALTIME) gives them): a live writer's file is newer than the call
 * that cleans up. Only regular files go. Calls report(ctx, removed_path) for each one
 * removed (`report` may be NULL). Returns how many were removed.
 */
int mrpc_remove_stale_temps(const char *path, double before, void (*report)(void *ctx, const char *removed),
                            void *ctx);

/*
 * Makes a rename or creation of `path` durable: fsyncs the directory that holds it
 * (after a power loss or a node's death the file is there under its new name). Best
 * effort on filesystems that cannot sync a directory (returns 0 there); -1 with errno
 * when the directory cannot be opened or synced.
 */
int mrpc_sync_parent_dir(const char *path);

/* Creates `path` and its missing parents (like mkdir -p), mode 0755. */
mrpc_status mrpc_mkdir_p(const char *path, mrpc_error *err);

/* Creates the parent directory of the file `path` (mkdir -p of its dirname). */
mrpc_status mrpc_mkdir_parent(const char *path, mrpc_error *err);

/* 1 when `path` names an existing file or directory, else 0. */
int mrpc_path_exists(const char *path);

/*
 * The names in directory `dir`, each malloc'd, into a malloc'd array (*out, *n_out; free
 * with mrpc_names_free). `keep` (may be NULL: every name not starting with '.') chooses
 * them; they are sorted with `cmp` (qsort on char *; NULL: strcmp). A missing directory
 * gives no names and MRPC_OK; only MRPC_ERR_NOMEM fails.
 */
mrpc_status mrpc_list_dir(const char *dir, int (*keep)(const char *name), int (*cmp)(const void *, const void *),
                          char ***out, size_t *n_out, mrpc_error *err);
void        mrpc_names_free(char **names, size_t n);

/*
 * An advisory lock on a lock file (flock, exclusive). mrpc_lock_acquire waits at most
 * `timeout_seconds` (0 = try once) and returns MRPC_ERR_BUSY when another process
 * holds it. The lock goes away when released or when the process dies.
 */
typedef struct mrpc_lock {
    int fd;
} mrpc_lock;
mrpc_status mrpc_lock_acquire(mrpc_lock *lock, const char *path, double timeout_seconds, mrpc_error *err);
void mrpc_lock_release(mrpc_lock *lock);

/*
 * 1 when `name` is a safe identifier for a run id or file name: 1..128 characters
 * from [A-Za-z0-9._-], not starting with '.' or '-'. Such a name is also a safe shell
 * word. Anything else gives 0.
 */
int mrpc_name_is_safe(const char *name);

/*
 * 1 when `path` is a relative path made of safe names joined by '/', with no "..",
 * no "." components and no leading '/'; else 0. Used for paths that must stay inside
 * a study directory.
 */
int mrpc_relpath_is_safe(const char *path);

/*
 * 64-bit FNV-1a hash, chainable: pass the previous result as `h` (start with
 * MRPC_FNV1A_INIT). For cache keys, not for security.
 */
#define MRPC_FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t mrpc_fnv1a(uint64_t h, const void *data, size_t size);

/* Hashes the contents of the file at `path` into *out_hash (chained from `h`). */
mrpc_status mrpc_file_hash(const char *path, uint64_t h, uint64_t *out_hash, mrpc_error *err);

#endif /* MRPC_CORE_FSUTIL_H */
