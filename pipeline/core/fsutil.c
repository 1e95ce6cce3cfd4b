/* fsutil.c — whole-file I/O, atomic writes, directories, locks, safe names (see fsutil.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

mrpc_status mrpc_file_read_all(const char *path, size_t max_size, char **out_data, size_t *out_size,
                               mrpc_error *err) {
    *out_data = NULL;
    if (out_size) *out_size = 0;
    /* Non-blocking open: a FIFO would otherwise block until a writer comes (forever). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EISDIR) return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "is a directory, not a file");
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "%s, not a regular file",
                              S_ISDIR(st.st_mode)    ? "is a directory"
                              : S_ISFIFO(st.st_mode) ? "is a FIFO (named pipe)"
                              : S_ISSOCK(st.st_mode) ? "is a socket"
                                                     : "is a device");
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(e));
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { fclose(f); return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory"); }
    for (;;) {
        if (len == cap) {
            if (max_size && cap >= max_size) {
                free(buf); fclose(f);
                return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                                      "file is larger than the limit of %zu bytes", max_size);
            }
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) { free(buf); fclose(f); return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory"); }
            buf = nb; cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    int read_failed = ferror(f), read_errno = errno;
    fclose(f);
    if (read_failed) { free(buf); return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "read failed: %s", strerror(read_errno)); }
    if (max_size && len > max_size) {
        free(buf);
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "file is larger than the limit of %zu bytes", max_size);
    }
    buf[len] = '\0';
    *out_data = buf;
    if (out_size) *out_size = len;
    return MRPC_OK;
}

mrpc_status mrpc_file_write_atomic(const char *path, const void *data, size_t size, mrpc_error *err) {
    /* host + pid + a clock reading: unique even when ranks of an array job on different
     * nodes share a directory and happen to have the same pid. */
    char host[64] = "host";
    if (gethostname(host, sizeof host) != 0) strcpy(host, "host");
    host[sizeof host - 1] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%s.%ld.%ld", path, host, (long)getpid(), (long)ts.tv_nsec);
    if (n < 0 || (size_t)n >= sizeof tmp) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return mrpc_error_set(err, MRPC_ERR_IO, tmp, 0, 0, NULL, "cannot create: %s", strerror(errno));
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd); unlink(tmp);
            return mrpc_error_set(err, MRPC_ERR_IO, tmp, 0, 0, NULL, "write failed: %s", strerror(e));
        }
        p += w; left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return mrpc_error_set(err, MRPC_ERR_IO, tmp, 0, 0, NULL, "flush failed: %s", strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "rename failed: %s", strerror(e));
    }
    mrpc_sync_parent_dir(path); /* durability only: the rename itself succeeded */
    return MRPC_OK;
}

mrpc_status mrpc_file_write_text_if_changed(const char *path, const char *text, mrpc_error *err) {
    char *old = NULL;
    size_t old_size = 0;
    size_t n = strlen(text);
    mrpc_status r = MRPC_OK;
    if (mrpc_file_read_all(path, n + 1, &old, &old_size, NULL) != MRPC_OK || old_size != n || memcmp(old, text, n) != 0)
        r = mrpc_file_write_atomic(path, text, n, err);
    free(old);
    return r;
}

/*
 * The directory that holds `path` into dir ("." for a bare name, "/" at the root);
 * returns the file name part of `path`, or NULL (errno ENAMETOOLONG) when it does not fit.
 */
static const char *split_parent(const char *path, char *dir, size_t dir_size) {
    size_t len = strlen(path);
    if (len >= dir_size) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return slash ? path + (slash - dir) + 1 : path;
}

int mrpc_remove_stale_temps(const char *path, double before, void (*report)(void *ctx, const char *removed),
                            void *ctx) {
    char dir[4096];
    const char *base = split_parent(path, dir, sizeof dir);
    if (!base) return 0;
    size_t n_base = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, base, n_base) != 0 || strncmp(e->d_name + n_base, ".tmp.", 5) != 0) continue;
        char stale[8192];
        if (snprintf(stale, sizeof stale, "%s/%s", dir, e->d_name) >= (int)sizeof stale) continue;
        struct stat sb;
        if (lstat(stale, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if ((double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec >= before) continue;
        if (unlink(stale) == 0) {
            removed++;
            if (report) report(ctx, stale);
        }
    }
    closedir(d);
    return removed;
}

int mrpc_sync_parent_dir(const char *path) {
    char dir[4096];
    if (!split_parent(path, dir, sizeof dir)) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && (e == EINVAL || e == EROFS)) return 0; /* this filesystem cannot sync a directory */
    errno = e;
    return rc;
}

mrpc_status mrpc_mkdir_p(const char *path, mrpc_error *err) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0) return MRPC_OK;
    if (len >= sizeof buf) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return mrpc_error_set(err, MRPC_ERR_IO, buf, 0, 0, NULL, "cannot create directory: %s", strerror(errno));
            }
            buf[i] = saved;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "exists and is not a directory");
    }
    return MRPC_OK;
}

mrpc_status mrpc_mkdir_parent(const char *path, mrpc_error *err) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return MRPC_OK;
    char buf[4096];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof buf) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    memcpy(buf, path, n);
    buf[n] = '\0';
    return mrpc_mkdir_p(buf, err);
}

int mrpc_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

mrpc_status mrpc_lock_acquire(mrpc_lock *lock, const char *path, double timeout_seconds, mrpc_error *err) {
    lock->fd = -1;
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open lock file: %s", strerror(errno));
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) { lock->fd = fd; return MRPC_OK; }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(fd);
            return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot lock: %s", strerror(e));
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
        if (waited >= timeout_seconds) {
            close(fd);
            return mrpc_error_set(err, MRPC_ERR_BUSY, path, 0, 0, NULL,
                                  "another process holds this lock (waited %.1f s)", waited);
        }
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

void mrpc_lock_release(mrpc_lock *lock) {
    if (lock && lock->fd >= 0) {
        flock(lock->fd, LOCK_UN);
        close(lock->fd);
        lock->fd = -1;
    }
}

static int char_is_safe(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int mrpc_name_is_safe(const char *name) {
    if (!name) return 0;
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '.' || name[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!char_is_safe(name[i])) return 0;
    return 1;
}

int mrpc_relpath_is_safe(const char *path) {
    if (!path || !path[0] || path[0] == '/') return 0;
    char part[256];
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof part) return 0;
        memcpy(part, p, n);
        part[n] = '\0';
        if (!mrpc_name_is_safe(part)) return 0;
        p += n;
        if (*p == '/') p++;
        if (slash && !*p) return 0; /* trailing slash */
    }
    return 1;
}

uint64_t mrpc_fnv1a(uint64_t h, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

mrpc_status mrpc_file_hash(const char *path, uint64_t h, uint64_t *out_hash, mrpc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = mrpc_fnv1a(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "read failed");
    *out_hash = h;
    return MRPC_OK;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

mrpc_status mrpc_list_dir(const char *dir, int (*keep)(const char *name), int (*cmp)(const void *, const void *),
                          char ***out, size_t *n_out, mrpc_error *err) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) return MRPC_OK; /* no directory: nothing there yet */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (keep ? !keep(e->d_name) : e->d_name[0] == '.') continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **more = realloc(names, nc * sizeof *more);
            if (!more) goto nomem;
            names = more;
            cap = nc;
        }
        size_t len = strlen(e->d_name);
        if (!(names[n] = malloc(len + 1))) goto nomem;
        memcpy(names[n], e->d_name, len + 1);
        n++;
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp ? cmp : cmp_name);
    *out = names;
    *n_out = n;
    return MRPC_OK;
nomem:
    closedir(d);
    mrpc_names_free(names, n);
    return mrpc_error_set(err, MRPC_ERR_NOMEM, dir, 0, 0, NULL, "out of memory listing the directory");
}

void mrpc_names_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
