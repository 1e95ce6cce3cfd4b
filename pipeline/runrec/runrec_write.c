/* runrec_write.c — the run-record writer used by rank 0 of mrpc-train (see runrec.h).
 *
 * Train entries are buffered (RUNREC_TRAIN_BUFFER of them) and written as one
 * H5Dset_extent + hyperslab write per series; evaluations are written at once and
 * followed by H5Fflush and fsync, which is the point where a reader is sure to see a
 * consistent file. The status attribute is written last in finish, after a flush, so a
 * record never says "completed" before the rest of it is on disk.
 *
 * HDF5 itself only ever writes to memory: a new record is built with the core driver and
 * written atomically, and an open record is mirrored in a memfd whose changes each flush
 * copies to the disk (writer_mirror, push_to_disk). A full disk or an I/O error is thus
 * an error of ours, reported and handled (the record is marked "failed" in place when
 * possible), never a failed HDF5 flush, which libhdf5 1.10.8 cannot recover from.
 */
#define _GNU_SOURCE /* flock, memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "fsutil.h"
#include "mrpc_version.h"
#include "runrec.h"
#include "runrec_internal.h"
#include "timeutil.h"

enum {
    /* status_reason is created this long (zero-padded), so that a writer that cannot get
     * more disk space can still rewrite it in place (mark_failed_on_disk). */
    RUNREC_REASON_RESERVED = 256,
    RUNREC_TRAIN_BUFFER = 256, /* train entries kept in memory between writes */
    RUNREC_TRAIN_CHUNK  = 512, /* chunk length of the /train series (4 KiB of float64) */
    RUNREC_EVAL_CHUNK   = 16   /* chunk length of the /eval series */
};

struct mrpc_runrec_writer {
    char *path;
    hid_t file;
    hid_t train[RUNREC_N_TRAIN]; /* /train/{step,loss,learning_rate,grad_norm} */
    hid_t eval[RUNREC_N_EVAL];   /* /eval/{step,epoch,accuracy,f1,loss} */
    int in_memory;               /* HDF5's core driver (mrpc_runrec_create builds the file there) */
    int disk_fd;                 /* the record on disk (writer_mirror); holds HDF5's file lock */
    int mem_fd;                  /* HDF5's descriptor, now an in-memory mirror of the file */
    int broken;                  /* a write to the disk failed: nothing more is written */
    int64_t n_train;             /* entries on disk (after the last write) */
    int64_t n_eval;
    size_t n_pending; /* buffered train entries, not yet in the file */
    int64_t pend_step[RUNREC_TRAIN_BUFFER];
    double pend_loss[RUNREC_TRAIN_BUFFER];
    double pend_lr[RUNREC_TRAIN_BUFFER];
    double pend_grad_norm[RUNREC_TRAIN_BUFFER];
};

/* Root attributes owned by the writer: mrpc_runrec_set_attr_string may not touch them. */
static const char *const reserved_attrs[] = {"format",  "format_version", "version",    "run_id",   "stage",
                                             "status",  "status_reason",  "start_time", "end_time", "host",
                                             "n_ranks", "backend",        "precision",  "config",   "paused_epoch"};

/* ---- small helpers ------------------------------------------------------------------- */

static mrpc_runrec_writer *writer_new(const char *path) {
    mrpc_runrec_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t n = strlen(path);
    w->path  = malloc(n + 1);
    if (!w->path) {
        free(w);
        return NULL;
    }
    memcpy(w->path, path, n + 1);
    w->file    = H5I_INVALID_HID;
    w->disk_fd = -1;
    w->mem_fd  = -1;
    for (int k = 0; k < RUNREC_N_TRAIN; k++)
        w->train[k] = H5I_INVALID_HID;
    for (int k = 0; k < RUNREC_N_EVAL; k++)
        w->eval[k] = H5I_INVALID_HID;
    return w;
}

/*
 * HDF5 works on an in-memory mirror of the record; the writer copies it to the disk.
 *
 * Why: when a write fails (disk full, I/O error) libhdf5 1.10.8 keeps dirty metadata it
 * can never write, and a failed flush leaves its metadata cache in a state where the
 * file can no longer be closed ("slist already enabled"): H5Fclose fails and the
 * library's exit-time cleanup crashes in H5F__close_cb or loops forever. So HDF5 never
 * sees a failing write: right after H5Fopen its file descriptor is swapped (dup2) for an
 * anonymous in-memory file (memfd) holding the same bytes, and every sync point
 * (push_to_disk) copies what changed to the file on disk: first what lies beyond the
 * old end of the file (undone with ftruncate when it fails, leaving the disk file as it
 * was), then the blocks that changed in place. The disk descriptor is a dup of HDF5's
 * original one, so HDF5's file lock (flock) stays held until the writer closes.
 */
static mrpc_status writer_mirror(mrpc_runrec_writer *w, mrpc_error *err) {
    void *handle = NULL;
    if (H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) < 0 || !handle)
        return runrec_h5_error(err, MRPC_ERR_HDF5, w->path, NULL, "cannot get the file descriptor");
    int fd   = *(int *)handle;
    int disk = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (disk < 0) return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "dup failed: %s", strerror(errno));
    int mfd = memfd_create("mrpc-runrec", MFD_CLOEXEC);
    if (mfd < 0) {
        /* No memfd (an old kernel, a sandbox): HDF5 writes to the disk itself, as before. */
        close(disk);
        return MRPC_OK;
    }
    char buf[1 << 16];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(disk, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) break;
        ssize_t m = n > 0 ? pwrite(mfd, buf, (size_t)n, off) : -1;
        if (n < 0 || m != n) {
            int e = errno;
            close(mfd);
            close(disk);
            return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "cannot copy the record to memory: %s",
                                  strerror(e));
        }
        off += n;
    }
    if (dup2(mfd, fd) < 0) {
        int e = errno;
        close(mfd);
        close(disk);
        return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "dup2 failed: %s", strerror(e));
    }
    close(mfd);
    w->disk_fd = disk;
    w->mem_fd  = fd;
    return MRPC_OK;
}

/* Writes all of buf to fd at off; returns 0, or -1 with errno. */
static int pwrite_all(int fd, const char *buf, size_t n, off_t off) {
    while (n > 0) {
        ssize_t m = pwrite(fd, buf, n, off);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return -1;
        if (m == 0) {
            errno = EIO;
            return -1;
        }
        buf += m;
        n -= (size_t)m;
        off += m;
    }
    return 0;
}

/* Reads exactly n bytes (0 beyond the end of the file); returns 0, or -1 with errno. */
static int pread_full(int fd, char *buf, size_t n, off_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t m = pread(fd, buf + got, n - got, off + (off_t)got);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return -1;
        if (m == 0) break;
        got += (size_t)m;
    }
    memset(buf + got, 0, n - got);
    return 0;
}

static int fsync_ok(int fd) { return fsync(fd) == 0 || errno == EINVAL || errno == EROFS; }

/*
 * Copies the mirror to the disk (see writer_mirror) and fsyncs it. With allow_grow 0 a
 * mirror larger than the disk file is refused (mark_failed_on_disk: in place only).
 * On failure the writer is marked broken; a failure while growing leaves the disk file
 * as it was.
 */
static mrpc_status push_to_disk(mrpc_runrec_writer *w, int allow_grow, mrpc_error *err) {
    struct stat ms, ds;
    if (fstat(w->mem_fd, &ms) != 0 || fstat(w->disk_fd, &ds) != 0) {
        w->broken = 1;
        return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "fstat failed: %s", strerror(errno));
    }
    off_t nm = ms.st_size, nd = ds.st_size;
    if (nm > nd && !allow_grow) {
        w->broken = 1;
        return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL,
                              "the change needs %lld more bytes on disk; not written", (long long)(nm - nd));
    }
    enum { BLOCK = 1 << 16 };
    char *a = malloc(BLOCK), *b = malloc(BLOCK);
    mrpc_status st = MRPC_OK;
    const char *what = "";
    if (!a || !b) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, w->path, 0, 0, NULL, "out of memory");
        goto done;
    }
    /* 1. Beyond the old end: the disk's content up to nd stays what it was. */
    for (off_t off = nd; off < nm && st == MRPC_OK; off += BLOCK) {
        size_t n = (size_t)(nm - off < BLOCK ? nm - off : BLOCK);
        if (pread_full(w->mem_fd, a, n, off) != 0 || pwrite_all(w->disk_fd, a, n, off) != 0) {
            what = "cannot write the run record";
            st   = MRPC_ERR_IO;
        }
    }
    if (st == MRPC_OK && nm > nd && !fsync_ok(w->disk_fd)) {
        what = "fsync of the run record failed";
        st   = MRPC_ERR_IO;
    }
    if (st != MRPC_OK) {
        int e = errno;
        if (ftruncate(w->disk_fd, nd) != 0) { /* what it was; if even this fails the reader checks the rest */
        }
        st = mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL,
                            "%s: %s (it keeps its state of the last successful write)", what, strerror(e));
        goto done;
    }
    /* 2. In place: only the blocks that changed (headers, the status, the tail chunk). */
    off_t common = nm < nd ? nm : nd;
    for (off_t off = 0; off < common && st == MRPC_OK; off += BLOCK) {
        size_t n = (size_t)(common - off < BLOCK ? common - off : BLOCK);
        if (pread_full(w->mem_fd, a, n, off) != 0 || pread_full(w->disk_fd, b, n, off) != 0) {
            what = "cannot read the run record back";
            st   = MRPC_ERR_IO;
        } else if (memcmp(a, b, n) != 0 && pwrite_all(w->disk_fd, a, n, off) != 0) {
            what = "cannot write the run record";
            st   = MRPC_ERR_IO;
        }
    }
    if (st == MRPC_OK && nm < nd && ftruncate(w->disk_fd, nm) != 0) {
        what = "cannot truncate the run record";
        st   = MRPC_ERR_IO;
    }
    if (st == MRPC_OK && !fsync_ok(w->disk_fd)) {
        what = "fsync of the run record failed";
        st   = MRPC_ERR_IO;
    }
    if (st != MRPC_OK)
        st = mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "%s: %s", what, strerror(errno));
done:
    if (st != MRPC_OK) w->broken = 1;
    free(a);
    free(b);
    return st;
}

/*
 * Closes every handle (the file last) and the disk descriptor (which releases the file
 * lock); returns -1 when a close failed. Nothing is pushed to the disk here: the
 * callers sync first when they want the state on disk.
 */
static int writer_close(mrpc_runrec_writer *w) {
    int bad = 0;
    for (int k = 0; k < RUNREC_N_TRAIN; k++)
        if (runrec_close_id(&w->train[k]) < 0) bad = 1;
    for (int k = 0; k < RUNREC_N_EVAL; k++)
        if (runrec_close_id(&w->eval[k]) < 0) bad = 1;
    if (runrec_close_id(&w->file) < 0) bad = 1;
    runrec_h5_clear();
    if (w->disk_fd >= 0 && close(w->disk_fd) != 0) bad = 1;
    w->disk_fd = -1;
    w->mem_fd  = -1;
    return bad ? -1 : 0;
}

static void writer_free(mrpc_runrec_writer *w) {
    if (!w) return;
    free(w->path);
    free(w);
}

/* Checks a meta string: present, fits the reader's field, well-formed UTF-8. */
static mrpc_status check_meta_str(const char *value, const char *name, size_t field_size, const char *path,
                                  mrpc_error *err) {
    char where[64];
    runrec_attr_path(where, sizeof where, "/", name);
    if (!value || !value[0])
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where, "the run record needs a non-empty %s", name);
    size_t n = strlen(value);
    if (n >= field_size)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where, "%s is %zu bytes long; at most %zu fit", name,
                              n, field_size - 1);
    if (!runrec_utf8_valid(value, n))
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where, "%s is not valid UTF-8", name);
    return MRPC_OK;
}

#define FIELD_SIZE(f) sizeof(((mrpc_runrec *)0)->f)

static mrpc_status check_meta(const mrpc_runrec_meta *meta, const char *path, mrpc_error *err) {
    if (!meta) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "no run meta given");
    mrpc_status st;
    if ((st = check_meta_str(meta->run_id, "run_id", FIELD_SIZE(run_id), path, err)) != MRPC_OK) return st;
    if ((st = check_meta_str(meta->stage, "stage", FIELD_SIZE(stage), path, err)) != MRPC_OK) return st;
    if ((st = check_meta_str(meta->host, "host", FIELD_SIZE(host), path, err)) != MRPC_OK) return st;
    if ((st = check_meta_str(meta->backend, "backend", FIELD_SIZE(backend), path, err)) != MRPC_OK) return st;
    if ((st = check_meta_str(meta->precision, "precision", FIELD_SIZE(precision), path, err)) != MRPC_OK) return st;
    if (meta->n_ranks < 1)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/@n_ranks", "n_ranks must be >= 1, got %d",
                              meta->n_ranks);
    if (meta->config_yaml) {
        size_t n = strlen(meta->config_yaml);
        if (n > RUNREC_MAX_ATTR_STRING)
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/@config",
                                  "the config is %zu bytes; a run record holds at most %zu", n, RUNREC_MAX_ATTR_STRING);
        if (!runrec_utf8_valid(meta->config_yaml, n))
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/@config", "the config is not valid UTF-8");
    }
    return MRPC_OK;
}

static mrpc_status check_hparams(const mrpc_hparam *hparams, size_t n, const char *path, mrpc_error *err) {
    if (n > MRPC_RUNREC_MAX_HPARAMS)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/hparams", "%zu hyperparameters; at most %d fit", n,
                              MRPC_RUNREC_MAX_HPARAMS);
    if (n > 0 && !hparams)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/hparams", "n_hparams is %zu but hparams is NULL", n);
    for (size_t k = 0; k < n; k++) {
        const mrpc_hparam *h = &hparams[k];
        if (memchr(h->name, '\0', sizeof h->name) == NULL || !mrpc_name_is_safe(h->name))
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "/hparams",
                                  "hyperparameter %zu has no usable name (want [A-Za-z0-9._-], under %zu bytes)", k,
                                  sizeof h->name);
        if (h->kind != MRPC_VALUE_FLOAT && h->kind != MRPC_VALUE_INT) {
            char where[96];
            runrec_attr_path(where, sizeof where, "/hparams", h->name);
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where, "unknown value kind %d", (int)h->kind);
        }
    }
    return MRPC_OK;
}

/* Flushes HDF5 (to the mirror) and copies the changes to the disk (push_to_disk, with fsync). */
static mrpc_status sync_file(mrpc_runrec_writer *w, mrpc_error *err) {
    if (w->broken)
        return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL,
                              "an earlier write of the run record failed; nothing more is written to it");
    if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0)
        return runrec_h5_error(err, MRPC_ERR_HDF5, w->path, "/", "cannot flush the file");
    if (w->in_memory) return MRPC_OK;
    if (w->disk_fd >= 0) return push_to_disk(w, 1, err);
    /* Not mirrored (no memfd): HDF5 wrote to the file itself; make it durable. */
    void *handle = NULL;
    if (H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) < 0 || !handle) {
        runrec_h5_clear();
        return MRPC_OK;
    }
    if (fsync(*(int *)handle) != 0 && errno != EINVAL && errno != EROFS)
        return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "fsync failed: %s", strerror(errno));
    return MRPC_OK;
}

/* Creates a 1-D chunked, unlimited, empty series with a recognisable fill value. */
static mrpc_status create_series(hid_t group, const char *group_name, const char *name, hid_t ftype, hsize_t chunk,
                                 hid_t *out, const char *path, mrpc_error *err) {
    char where[96];
    snprintf(where, sizeof where, "%s/%s", group_name, name);
    hsize_t dims = 0, maxdims = H5S_UNLIMITED;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    mrpc_status st = MRPC_OK;
    space          = H5Screate_simple(1, &dims, &maxdims);
    dcpl           = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot set up the dataset");
        goto done;
    }
    /* Entries the writer extended but never wrote (a crash in between) read as NaN / -1. */
    herr_t fr;
    if (H5Tget_class(ftype) == H5T_FLOAT) {
        double nan_fill = NAN;
        fr              = H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan_fill);
    } else {
        int64_t fill = -1;
        fr           = H5Pset_fill_value(dcpl, H5T_NATIVE_INT64, &fill);
    }
    if (fr < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot set the fill value");
        goto done;
    }
    *out = H5Dcreate2(group, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (*out < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot create the dataset");
done:
    runrec_close_id(&space);
    runrec_close_id(&dcpl);
    return st;
}

/* Grows `ds` from `old_n` to `old_n + n` entries and writes buf[0..n) into the new tail. */
static mrpc_status append_column(hid_t ds, const char *where, int64_t old_n, size_t n, hid_t memtype, const void *buf,
                                 const char *path, mrpc_error *err) {
    hsize_t start = (hsize_t)old_n, count = (hsize_t)n, new_n = (hsize_t)old_n + (hsize_t)n;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    mrpc_status st = MRPC_OK;
    if (H5Dset_extent(ds, &new_n) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot extend the dataset");
        goto done;
    }
    fspace = H5Dget_space(ds);
    if (fspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot select the new entries");
        goto done;
    }
    mspace = H5Screate_simple(1, &count, NULL);
    if (mspace < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot make a dataspace");
        goto done;
    }
    if (H5Dwrite(ds, memtype, mspace, fspace, H5P_DEFAULT, buf) < 0)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot write the new entries");
done:
    runrec_close_id(&fspace);
    runrec_close_id(&mspace);
    return st;
}

/* Best effort after a failed append: bring every series of a group back to `n`. */
static void shrink_columns(hid_t *ds, int count, int64_t n) {
    hsize_t dims = (hsize_t)n;
    for (int k = 0; k < count; k++) {
        if (ds[k] >= 0 && H5Dset_extent(ds[k], &dims) < 0) runrec_h5_clear();
    }
}

/* Writes the buffered train entries to the file (not flushed). */
static mrpc_status flush_pending(mrpc_runrec_writer *w, mrpc_error *err) {
    if (w->n_pending == 0) return MRPC_OK;
    const void *bufs[RUNREC_N_TRAIN] = {w->pend_step, w->pend_loss, w->pend_lr, w->pend_grad_norm};
    for (int k = 0; k < RUNREC_N_TRAIN; k++) {
        char where[64];
        snprintf(where, sizeof where, "/train/%s", runrec_train_names[k]);
        mrpc_status st = append_column(w->train[k], where, w->n_train, w->n_pending,
                                       k == 0 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, bufs[k], w->path, err);
        if (st != MRPC_OK) {
            shrink_columns(w->train, RUNREC_N_TRAIN, w->n_train);
            return st;
        }
    }
    w->n_train += (int64_t)w->n_pending;
    w->n_pending = 0;
    return MRPC_OK;
}

/* Opens the series of one group into ds[] (for resume). */
static mrpc_status open_series(hid_t file, const char *group, const char *const *names, int count, hid_t *ds,
                               const char *path, mrpc_error *err) {
    for (int k = 0; k < count; k++) {
        char where[64];
        snprintf(where, sizeof where, "%s/%s", group, names[k]);
        ds[k] = H5Dopen2(file, where, H5P_DEFAULT);
        if (ds[k] < 0) return runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot open the series");
    }
    return MRPC_OK;
}

/* Length of a 1-D dataset. */
static mrpc_status series_length(hid_t ds, const char *where, int64_t *n, const char *path, mrpc_error *err) {
    hid_t space = H5Dget_space(ds);
    if (space < 0) return runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the dataset's shape");
    mrpc_status st = MRPC_OK;
    int rank       = H5Sget_simple_extent_ndims(space);
    hsize_t dims   = 0;
    if (rank != 1) {
        if (rank < 0)
            st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the dataset's shape");
        else
            st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where, "expected a 1-D series, found rank %d", rank);
    } else if (H5Sget_simple_extent_dims(space, &dims, NULL) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the dataset's shape");
    } else {
        *n = (int64_t)dims;
    }
    runrec_close_id(&space);
    return st;
}

static mrpc_status delete_link_if_exists(hid_t file, const char *name, const char *path, mrpc_error *err) {
    htri_t ex = H5Lexists(file, name, H5P_DEFAULT);
    if (ex < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot look up the object");
    if (ex > 0 && H5Ldelete(file, name, H5P_DEFAULT) < 0)
        return runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot delete the object");
    return MRPC_OK;
}

/* ---- after a failed write ------------------------------------------------------------------ */

/* Appends `note` to err's message, shortening the message when both do not fit. */
static void append_note(mrpc_error *err, const char *note) {
    if (!err) return;
    size_t cap = sizeof err->message, n = strlen(note), m = strlen(err->message);
    if (n + 1 > cap) return;
    if (m + n + 1 > cap) {
        m = cap - n - 1 - 3;
        memcpy(err->message + m, "...", 3);
        m += 3;
    }
    memcpy(err->message + m, note, n + 1);
}

/* 1 for the statuses of a failed write (as opposed to bad arguments). */
static int is_write_failure(mrpc_status st) { return st == MRPC_ERR_HDF5 || st == MRPC_ERR_IO; }

/* A write of the record failed: nothing more goes to the disk, every later append fails. */
static mrpc_status writer_failed(mrpc_runrec_writer *w, mrpc_status st) {
    if (is_write_failure(st)) w->broken = 1;
    return st;
}

static mrpc_status refuse_broken(const mrpc_runrec_writer *w, mrpc_error *err) {
    return mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL,
                          "an earlier write of the run record failed; nothing more is written to it");
}

/*
 * After the writer failed and was closed: makes the record on disk say "failed" with
 * `reason`, rewriting status and status_reason in place (both were created with room
 * to spare, so no new disk space is needed). Returns MRPC_OK when the record now says
 * "failed"; otherwise the record keeps what it said ("running"), or it is damaged and
 * the reader refuses it. Either way it is never taken for a completed run.
 */
static mrpc_status mark_failed_on_disk(const char *path, const char *reason, mrpc_error *err) {
    mrpc_runrec_writer *w = writer_new(path);
    if (!w) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    mrpc_status st = MRPC_OK;
    int version    = 0;
    hid_t fapl     = runrec_fapl(1, path, err);
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID;
    char *why  = NULL;
    if (fapl < 0) {
        st = MRPC_ERR_HDF5;
        goto done;
    }
    w->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (w->file < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, NULL, "the record cannot be opened any more");
        goto done;
    }
    if ((st = writer_mirror(w, err)) != MRPC_OK) goto done;
    if ((st = runrec_check_format(w->file, path, &version, err)) != MRPC_OK) goto done;
    /* Room for the reason: the size the attribute has now (RUNREC_REASON_RESERVED). */
    size_t room = 0;
    attr        = H5Aopen(w->file, "status_reason", H5P_DEFAULT);
    type        = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    if (type >= 0 && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0) room = H5Tget_size(type);
    runrec_close_id(&type);
    runrec_close_id(&attr);
    runrec_h5_clear();
    if (room > 1) {
        why = runrec_utf8_sanitize(reason, room - 1);
        if (!why) {
            st = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
            goto done;
        }
        if ((st = runrec_attr_write_str(w->file, "/", "status_reason", why, room, path, err)) != MRPC_OK) goto done;
    }
    if ((st = runrec_attr_write_str(w->file, "/", "status", "failed", RUNREC_STATUS_BYTES, path, err)) != MRPC_OK)
        goto done;
    if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, "/", "cannot flush the file");
        goto done;
    }
    /* In place only: a disk without room for more must still take this. */
    if (w->disk_fd >= 0)
        st = push_to_disk(w, 0, err);
    else
        st = sync_file(w, err);
done:
    runrec_close_id(&fapl);
    if (writer_close(w) < 0 && st == MRPC_OK)
        st = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot write the failed status");
    runrec_h5_clear();
    free(why);
    writer_free(w);
    return st;
}

/*
 * Ends a writer whose record could not be written to the end: closes it and
 * tries to leave "failed" with `reason` on disk. `err` already holds the write error;
 * the outcome of the attempt is added to its message. Frees w.
 */
static void close_failed_writer(mrpc_runrec_writer *w, const char *reason, mrpc_error *err) {
    writer_close(w);
    runrec_h5_clear();
    mrpc_error local = {0};
    if (mark_failed_on_disk(w->path, reason, &local) == MRPC_OK) {
        append_note(err, "; the record on disk now says \"failed\"");
    } else {
        append_note(err, "; the record could not be marked \"failed\" either: it keeps \"running\" or the "
                         "readers refuse it as damaged");
    }
    writer_free(w);
}

/* ---- create ---------------------------------------------------------------------------- */

static mrpc_status write_layout(mrpc_runrec_writer *w, const mrpc_runrec_meta *meta, const mrpc_hparam *hparams,
                                size_t n_hparams, mrpc_error *err) {
    const char *p = w->path;
    hid_t f       = w->file;
    char now[32];
    mrpc_utc_timestamp(now, sizeof now);
    mrpc_status st;
    if ((st = runrec_attr_write_str(f, "/", "format", MRPC_RUNREC_FORMAT, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_i64(f, "/", "format_version", MRPC_RUNREC_FORMAT_VERSION, p, err)) != MRPC_OK)
        return st;
    if ((st = runrec_attr_write_str(f, "/", "version", MRPC_VERSION_STRING, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "run_id", meta->run_id, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "stage", meta->stage, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "status", "running", RUNREC_STATUS_BYTES, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "status_reason", "", RUNREC_REASON_RESERVED, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "start_time", now, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "host", meta->host, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_i64(f, "/", "n_ranks", meta->n_ranks, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "backend", meta->backend, 0, p, err)) != MRPC_OK) return st;
    if ((st = runrec_attr_write_str(f, "/", "precision", meta->precision, 0, p, err)) != MRPC_OK) return st;
    if (meta->config_yaml && (st = runrec_attr_write_str(f, "/", "config", meta->config_yaml, 0, p, err)) != MRPC_OK)
        return st;

    /* Hyperparameters stay in the group's (checksummed) object header, never in dense storage. */
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0 || H5Pset_attr_phase_change(gcpl, MRPC_RUNREC_MAX_HPARAMS, 8) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, p, "/hparams", "cannot set up the group");
        runrec_close_id(&gcpl);
        return st;
    }
    hid_t g = H5Gcreate2(f, "hparams", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, p, "/hparams", "cannot create the group");
    runrec_close_id(&gcpl);
    if (g < 0) return st;
    for (size_t k = 0; k < n_hparams && st == MRPC_OK; k++) {
        const mrpc_hparam *h = &hparams[k];
        char where[96];
        runrec_attr_path(where, sizeof where, "/hparams", h->name);
        htri_t ex = H5Aexists(g, h->name);
        if (ex < 0)
            st = runrec_h5_error(err, MRPC_ERR_HDF5, p, where, "cannot look up the hyperparameter");
        else if (ex > 0)
            st = mrpc_error_set(err, MRPC_ERR_INVALID, p, 0, 0, where, "hyperparameter '%s' is given twice", h->name);
        else if (h->kind == MRPC_VALUE_INT)
            st = runrec_attr_write_i64(g, "/hparams", h->name, h->i, p, err);
        else
            st = runrec_attr_write_f64(g, "/hparams", h->name, h->f, p, err);
    }
    if (runrec_close_id(&g) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, p, "/hparams", "cannot close the group");
    if (st != MRPC_OK) return st;

    hid_t gt = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (gt < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, p, "/train", "cannot create the group");
    for (int k = 0; k < RUNREC_N_TRAIN && st == MRPC_OK; k++)
        st = create_series(gt, "/train", runrec_train_names[k], k == 0 ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                           RUNREC_TRAIN_CHUNK, &w->train[k], p, err);
    if (runrec_close_id(&gt) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, p, "/train", "cannot close the group");
    if (st != MRPC_OK) return st;

    hid_t ge = H5Gcreate2(f, "eval", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ge < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, p, "/eval", "cannot create the group");
    for (int k = 0; k < RUNREC_N_EVAL && st == MRPC_OK; k++)
        st = create_series(ge, "/eval", runrec_eval_names[k], k < 2 ? H5T_STD_I64LE : H5T_IEEE_F64LE, RUNREC_EVAL_CHUNK,
                           &w->eval[k], p, err);
    if (runrec_close_id(&ge) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, p, "/eval", "cannot close the group");
    if (st != MRPC_OK) return st;
    return sync_file(w, err);
}

/* Error status for a failed H5Fcreate/H5Fopen: BUSY when another process holds the lock. */
static mrpc_status open_failure(mrpc_error *err, const char *path, const char *what) {
    mrpc_status st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "%s", what);
    if (err && (strstr(err->message, "unable to lock file") || strstr(err->message, "already open"))) {
        err->status = MRPC_ERR_BUSY;
        mrpc_error_prefix(err, "another process (or handle) has the record open: ");
        return MRPC_ERR_BUSY;
    }
    return st;
}

/*
 * H5Fcreate(H5F_ACC_TRUNC) truncates the file before it takes HDF5's lock, so a record
 * that another writer has open would be emptied even though the create then fails.
 * Probe that lock (HDF5 uses flock) first and leave a locked file alone. A file system
 * without flock makes the probe pass; a lock taken between this probe and H5Fcreate
 * is not seen (the window is a few system calls).
 */
static mrpc_status check_not_locked(const char *path, mrpc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MRPC_OK; /* absent; anything else H5Fcreate reports */
    mrpc_status st = MRPC_OK;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            st = mrpc_error_set(err, MRPC_ERR_BUSY, path, 0, 0, NULL,
                                "another process has this file open (HDF5 file lock); not touching it");
    } else if (flock(fd, LOCK_UN) != 0) {
        st = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot release the probe lock: %s", strerror(errno));
    }
    close(fd);
    return st;
}

/* Bob Jenkins' lookup3 hash (hashlittle), the checksum of HDF5's metadata. */
static uint32_t rot32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t lookup3(const unsigned char *k, size_t length) {
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (uint32_t)length;
    while (length > 12) {
        a += (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
        b += (uint32_t)k[4] | (uint32_t)k[5] << 8 | (uint32_t)k[6] << 16 | (uint32_t)k[7] << 24;
        c += (uint32_t)k[8] | (uint32_t)k[9] << 8 | (uint32_t)k[10] << 16 | (uint32_t)k[11] << 24;
        a -= c; a ^= rot32(c, 4); c += b;
        b -= a; b ^= rot32(a, 6); a += c;
        c -= b; c ^= rot32(b, 8); b += a;
        a -= c; a ^= rot32(c, 16); c += b;
        b -= a; b ^= rot32(a, 19); a += c;
        c -= b; c ^= rot32(b, 4); b += a;
        length -= 12;
        k += 12;
    }
    if (length == 0) return c;
    unsigned char t[12] = {0};
    memcpy(t, k, length);
    a += (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    b += (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
    c += (uint32_t)t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 | (uint32_t)t[11] << 24;
    c ^= b; c -= rot32(b, 14);
    a ^= c; a -= rot32(c, 11);
    b ^= a; b -= rot32(a, 25);
    c ^= b; c -= rot32(b, 16);
    a ^= c; a -= rot32(c, 4);
    b ^= a; b -= rot32(a, 14);
    c ^= b; c -= rot32(b, 24);
    return c;
}

/*
 * libhdf5 1.10.8's H5Fget_file_image clears the file-consistency flags of a version 2
 * superblock in the image after its checksum was computed, so the image fails its own
 * checksum ("incorrect metadata checksum") when opened. Recomputes that checksum (over
 * the 12 + 4 * sizeof(address) bytes before it); an image that is already consistent
 * (a fixed libhdf5) is left alone.
 */
static void fix_superblock_checksum(unsigned char *img, size_t n) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (n < 12 || memcmp(img, sig, 8) != 0 || (img[8] != 2 && img[8] != 3)) return;
    size_t body = 12 + 4 * (size_t)img[9];
    if (img[9] < 2 || img[9] > 8 || body + 4 > n) return;
    uint32_t want = lookup3(img, body);
    for (int k = 0; k < 4; k++)
        img[body + (size_t)k] = (unsigned char)(want >> (8 * k));
}

/*
 * The new record is built in memory (HDF5's core driver) and written to the disk in one
 * atomic write (temporary file, fsync, rename). HDF5 itself never writes a record that
 * is not complete yet: a full disk or an I/O error at creation leaves nothing behind
 * (and an older file at `path` untouched), instead of a 0-byte or half-written file and
 * a library that cannot close it.
 */
static mrpc_status build_image(mrpc_runrec_writer *w, const mrpc_runrec_meta *meta, const mrpc_hparam *hparams,
                               size_t n_hparams, void **image, size_t *image_size, mrpc_error *err) {
    const char *path = w->path;
    mrpc_status st   = MRPC_OK;
    hid_t fapl       = runrec_fapl(1, path, err);
    /* Root attributes stay in the root's object header (up to 64 of them). */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fapl < 0) {
        st = MRPC_ERR_HDF5;
    } else if (fcpl < 0 || H5Pset_attr_phase_change(fcpl, 64, 8) < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot set up the file creation properties");
    } else {
        w->in_memory = 1;
        w->file      = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
        if (w->file < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot create the run record in memory");
    }
    runrec_close_id(&fapl);
    runrec_close_id(&fcpl);
    if (st == MRPC_OK) st = write_layout(w, meta, hparams, n_hparams, err);
    if (st == MRPC_OK) {
        ssize_t n = H5Fget_file_image(w->file, NULL, 0);
        void *buf = n > 0 ? malloc((size_t)n) : NULL;
        if (n <= 0) {
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot get the file image");
        } else if (!buf) {
            st = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
        } else if (H5Fget_file_image(w->file, buf, (size_t)n) != n) {
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot get the file image");
            free(buf);
        } else {
            fix_superblock_checksum(buf, (size_t)n);
            *image      = buf;
            *image_size = (size_t)n;
        }
    }
    if (writer_close(w) < 0 && st == MRPC_OK) /* memory only: cannot fail short of a bug */
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot close the in-memory record");
    w->in_memory = 0;
    if (st != MRPC_OK && *image) {
        free(*image);
        *image = NULL;
    }
    return st;
}

mrpc_status mrpc_runrec_create(const char *path, const mrpc_runrec_meta *meta, const mrpc_hparam *hparams,
                               size_t n_hparams, mrpc_runrec_writer **out, mrpc_error *err) {
    if (out) *out = NULL;
    if (!path || !path[0] || !out)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                              "mrpc_runrec_create needs a path and an out pointer");
    mrpc_status st = check_meta(meta, path, err);
    if (st == MRPC_OK) st = check_hparams(hparams, n_hparams, path, err);
    if (st == MRPC_OK) st = check_not_locked(path, err);
    if (st != MRPC_OK) return st;
    mrpc_runrec_writer *w = writer_new(path);
    if (!w) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");

    runrec_quiet q;
    runrec_quiet_begin(&q);
    void *image      = NULL;
    size_t image_len = 0;
    st               = build_image(w, meta, hparams, n_hparams, &image, &image_len, err);
    if (st == MRPC_OK) {
        mrpc_error werr = {0};
        st = mrpc_file_write_atomic(path, image, image_len, &werr);
        if (st != MRPC_OK) /* werr names the temporary file; the caller knows the record's path */
            mrpc_error_set(err, st, path, 0, 0, NULL,
                           "cannot write the new run record (nothing new was left; a file already at this path is "
                           "left as it was): %s",
                           werr.message);
    }
    free(image);
    if (st == MRPC_OK) {
        /* Reopen the record on disk for the run; HDF5 takes its file lock here. */
        hid_t fapl = runrec_fapl(1, path, err);
        if (fapl < 0) {
            st = MRPC_ERR_HDF5;
        } else {
            w->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
            if (w->file < 0) st = open_failure(err, path, "cannot open the new run record"); /* before H5Pclose */
        }
        runrec_close_id(&fapl);
        if (st == MRPC_OK) st = writer_mirror(w, err);
        if (st == MRPC_OK)
            st = open_series(w->file, "/train", runrec_train_names, RUNREC_N_TRAIN, w->train, path, err);
        if (st == MRPC_OK) st = open_series(w->file, "/eval", runrec_eval_names, RUNREC_N_EVAL, w->eval, path, err);
        if (st != MRPC_OK) {
            writer_close(w);
            /* We wrote that file: remove it (unless another writer took it in between). */
            if (st != MRPC_ERR_BUSY && unlink(path) != 0 && errno != ENOENT)
                mrpc_error_prefix(err, "(could not remove the new file) ");
        }
    }
    runrec_quiet_end(&q);
    if (st != MRPC_OK) {
        writer_close(w);
        writer_free(w);
        return st;
    }
    *out = w;
    return MRPC_OK;
}

/* ---- resume ---------------------------------------------------------------------------- */

mrpc_status mrpc_runrec_resume(const char *path, int64_t n_train_keep, int64_t n_eval_keep, mrpc_runrec_writer **out,
                               mrpc_error *err) {
    if (out) *out = NULL;
    if (!path || !path[0] || !out)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                              "mrpc_runrec_resume needs a path and an out pointer");
    if (n_train_keep < 0 || n_eval_keep < 0)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                              "entries to keep must be >= 0 (train %" PRId64 ", eval %" PRId64 ")", n_train_keep,
                              n_eval_keep);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot resume the run record: %s", strerror(errno));
    mrpc_runrec_writer *w = writer_new(path);
    if (!w) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");

    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = MRPC_OK;
    int version    = 0;
    int changed    = 0; /* the record on disk is being modified */
    hid_t fapl     = runrec_fapl(1, path, err);
    if (fapl < 0) {
        st = MRPC_ERR_HDF5;
        goto done;
    }
    w->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (w->file < 0) {
        /* Capture the error stack before H5Pclose clears it. */
        st = open_failure(err, path, "cannot open the run record for resuming (not HDF5, damaged, or read-only)");
        runrec_close_id(&fapl);
        goto done;
    }
    runrec_close_id(&fapl);
    if ((st = writer_mirror(w, err)) != MRPC_OK) goto done;
    if ((st = runrec_check_format(w->file, path, &version, err)) != MRPC_OK) goto done;
    if ((st = open_series(w->file, "/train", runrec_train_names, RUNREC_N_TRAIN, w->train, path, err)) != MRPC_OK)
        goto done;
    if ((st = open_series(w->file, "/eval", runrec_eval_names, RUNREC_N_EVAL, w->eval, path, err)) != MRPC_OK)
        goto done;
    /* Every series must hold at least what the checkpoint says was written. */
    for (int k = 0; k < RUNREC_N_TRAIN + RUNREC_N_EVAL; k++) {
        int is_train = k < RUNREC_N_TRAIN;
        hid_t ds     = is_train ? w->train[k] : w->eval[k - RUNREC_N_TRAIN];
        char where[64];
        snprintf(where, sizeof where, "%s/%s", is_train ? "/train" : "/eval",
                 is_train ? runrec_train_names[k] : runrec_eval_names[k - RUNREC_N_TRAIN]);
        int64_t n = 0, keep = is_train ? n_train_keep : n_eval_keep;
        if ((st = series_length(ds, where, &n, path, err)) != MRPC_OK) goto done;
        if (n < keep) {
            st = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where,
                                "cannot keep %" PRId64 " entries: the record holds only %" PRId64
                                " (does the checkpoint belong to this run?)",
                                keep, n);
            goto done;
        }
    }
    /* "running" first: a crash from here on leaves a record that says it is not done. */
    changed = 1;
    if ((st = runrec_attr_write_str(w->file, "/", "status", "running", RUNREC_STATUS_BYTES, path, err)) != MRPC_OK)
        goto done;
    if ((st = sync_file(w, err)) != MRPC_OK) goto done;
    if ((st = runrec_attr_write_str(w->file, "/", "status_reason", "", RUNREC_REASON_RESERVED, path, err)) != MRPC_OK)
        goto done;
    if ((st = runrec_attr_delete_if_exists(w->file, "/", "end_time", path, err)) != MRPC_OK) goto done;
    if ((st = runrec_attr_delete_if_exists(w->file, "/", "paused_epoch", path, err)) != MRPC_OK) goto done;
    if ((st = delete_link_if_exists(w->file, "/summary", path, err)) != MRPC_OK) goto done;
    if ((st = delete_link_if_exists(w->file, "/eval/predictions", path, err)) != MRPC_OK) goto done;
    if ((st = delete_link_if_exists(w->file, "/eval/labels", path, err)) != MRPC_OK) goto done;
    hsize_t nt = (hsize_t)n_train_keep, ne = (hsize_t)n_eval_keep;
    for (int k = 0; k < RUNREC_N_TRAIN; k++) {
        if (H5Dset_extent(w->train[k], &nt) < 0) {
            char where[64];
            snprintf(where, sizeof where, "/train/%s", runrec_train_names[k]);
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot shrink the series");
            goto done;
        }
    }
    for (int k = 0; k < RUNREC_N_EVAL; k++) {
        if (H5Dset_extent(w->eval[k], &ne) < 0) {
            char where[64];
            snprintf(where, sizeof where, "/eval/%s", runrec_eval_names[k]);
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot shrink the series");
            goto done;
        }
    }
    w->n_train = n_train_keep;
    w->n_eval  = n_eval_keep;
    st         = sync_file(w, err);
done:
    if (st != MRPC_OK && changed && is_write_failure(st)) {
        /* The record was being changed when a write failed: say "failed" if possible. */
        char msg[RUNREC_REASON_RESERVED];
        mrpc_error_format(err, msg, sizeof msg);
        char reason[RUNREC_REASON_RESERVED + 64];
        if (snprintf(reason, sizeof reason, "could not resume the run record: %s", msg) < 0) reason[0] = '\0';
        close_failed_writer(w, reason, err);
        w = NULL;
    } else if (st != MRPC_OK) {
        writer_close(w);
        runrec_h5_clear();
        writer_free(w);
        w = NULL;
    }
    runrec_quiet_end(&q);
    *out = w;
    return st;
}

/* ---- appends ---------------------------------------------------------------------------- */

mrpc_status mrpc_runrec_append_train(mrpc_runrec_writer *w, int64_t step, double loss, double learning_rate,
                                     double grad_norm, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "append_train on a NULL writer");
    if (w->broken) return refuse_broken(w, err);
    if (w->n_pending == RUNREC_TRAIN_BUFFER) {
        runrec_quiet q;
        runrec_quiet_begin(&q);
        mrpc_status st = writer_failed(w, flush_pending(w, err));
        runrec_quiet_end(&q);
        if (st != MRPC_OK) return st;
    }
    size_t i             = w->n_pending++;
    w->pend_step[i]      = step;
    w->pend_loss[i]      = loss;
    w->pend_lr[i]        = learning_rate;
    w->pend_grad_norm[i] = grad_norm;
    return MRPC_OK;
}

mrpc_status mrpc_runrec_append_eval(mrpc_runrec_writer *w, int64_t step, int64_t epoch, double accuracy, double f1,
                                    double loss, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "append_eval on a NULL writer");
    if (w->broken) return refuse_broken(w, err);
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = flush_pending(w, err);
    if (st == MRPC_OK) {
        const int64_t ints[2] = {step, epoch};
        const double dbls[3]  = {accuracy, f1, loss};
        for (int k = 0; k < RUNREC_N_EVAL && st == MRPC_OK; k++) {
            char where[64];
            snprintf(where, sizeof where, "/eval/%s", runrec_eval_names[k]);
            st = append_column(w->eval[k], where, w->n_eval, 1, k < 2 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                               k < 2 ? (const void *)&ints[k] : (const void *)&dbls[k - 2], w->path, err);
        }
        if (st != MRPC_OK)
            shrink_columns(w->eval, RUNREC_N_EVAL, w->n_eval);
        else
            w->n_eval++;
    }
    if (st == MRPC_OK) st = sync_file(w, err);
    writer_failed(w, st);
    runrec_quiet_end(&q);
    return st;
}

mrpc_status mrpc_runrec_flush(mrpc_runrec_writer *w, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "flush on a NULL writer");
    if (w->broken) return refuse_broken(w, err);
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = flush_pending(w, err);
    if (st == MRPC_OK) st = sync_file(w, err);
    writer_failed(w, st);
    runrec_quiet_end(&q);
    return st;
}

/* Writes one contiguous int32 [n] dataset under /eval. */
static mrpc_status write_int32_vector(hid_t file, const char *name, const int32_t *data, size_t n, const char *path,
                                      mrpc_error *err) {
    hsize_t dims = (hsize_t)n;
    hid_t space  = H5Screate_simple(1, &dims, NULL);
    if (space < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot make a dataspace");
    mrpc_status st = MRPC_OK;
    hid_t ds       = H5Dcreate2(file, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot create the dataset");
    else if (n > 0 && H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot write the dataset");
    if (runrec_close_id(&ds) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, name, "cannot close the dataset");
    runrec_close_id(&space);
    return st;
}

mrpc_status mrpc_runrec_write_predictions(mrpc_runrec_writer *w, const int32_t *predictions, const int32_t *labels,
                                          size_t n, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "write_predictions on a NULL writer");
    if (n > 0 && (!predictions || !labels))
        return mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, "/eval/predictions",
                              "%zu predictions announced but an array is NULL", n);
    if (w->broken) return refuse_broken(w, err);
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = delete_link_if_exists(w->file, "/eval/predictions", w->path, err);
    if (st == MRPC_OK) st = delete_link_if_exists(w->file, "/eval/labels", w->path, err);
    if (st == MRPC_OK) st = write_int32_vector(w->file, "/eval/predictions", predictions, n, w->path, err);
    if (st == MRPC_OK) st = write_int32_vector(w->file, "/eval/labels", labels, n, w->path, err);
    writer_failed(w, st);
    runrec_quiet_end(&q);
    return st;
}

mrpc_status mrpc_runrec_set_attr_string(mrpc_runrec_writer *w, const char *name, const char *value, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "set_attr_string on a NULL writer");
    if (!name || !mrpc_name_is_safe(name))
        return mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, NULL,
                              "attribute name must be a safe name ([A-Za-z0-9._-])");
    char where[160];
    runrec_attr_path(where, sizeof where, "/", name);
    for (size_t k = 0; k < sizeof reserved_attrs / sizeof reserved_attrs[0]; k++) {
        if (strcmp(name, reserved_attrs[k]) == 0)
            return mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, where,
                                  "'%s' is set by the run-record writer itself", name);
    }
    if (!value) value = "";
    size_t n = strlen(value);
    if (n > RUNREC_MAX_ATTR_STRING)
        return mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, where, "the value is %zu bytes; at most %zu fit", n,
                              RUNREC_MAX_ATTR_STRING);
    if (!runrec_utf8_valid(value, n))
        return mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, where, "the value is not valid UTF-8");
    if (w->broken) return refuse_broken(w, err);
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = writer_failed(w, runrec_attr_write_str(w->file, "/", name, value, 0, w->path, err));
    runrec_quiet_end(&q);
    return st;
}

mrpc_status mrpc_runrec_set_checkpoints(mrpc_runrec_writer *w, const mrpc_runrec_checkpoints *c, mrpc_error *err) {
    if (!w || !c) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "set_checkpoints: NULL argument");
    if (w->broken) return refuse_broken(w, err);
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = delete_link_if_exists(w->file, "/checkpoints", w->path, err);
    hid_t g = H5I_INVALID_HID;
    if (st == MRPC_OK) {
        g = H5Gcreate2(w->file, "checkpoints", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, w->path, "/checkpoints", "cannot create the group");
    }
    const char *g_name = "/checkpoints";
    char *note = runrec_utf8_sanitize(c->note ? c->note : "", 4000);
    if (st == MRPC_OK)
        st = runrec_attr_write_str(g, g_name, "strategy", c->strategy ? c->strategy : "", 0, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_f64(g, g_name, "period", c->period, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_i64(g, g_name, "written", c->written, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_i64(g, g_name, "failed", c->failed, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_f64(g, g_name, "seconds", c->seconds, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_i64(g, g_name, "resumes", c->resumes, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_i64(g, g_name, "steps_redone", c->steps_redone, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_i64(g, g_name, "kept", c->kept ? 1 : 0, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_str(g, g_name, "note", note ? note : "", 0, w->path, err);
    free(note);
    if (g >= 0 && runrec_close_id(&g) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, w->path, g_name, "cannot close the group");
    st = writer_failed(w, st);
    runrec_quiet_end(&q);
    return st;
}

/* ---- finish / abandon ------------------------------------------------------------------ */

static mrpc_status write_summary(mrpc_runrec_writer *w, const mrpc_runrec_summary *s, mrpc_error *err) {
    mrpc_status st = delete_link_if_exists(w->file, "/summary", w->path, err);
    if (st != MRPC_OK) return st;
    hid_t g = H5Gcreate2(w->file, "summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, w->path, "/summary", "cannot create the group");
    const char *names[5] = {"accuracy", "f1", "best_accuracy", "train_seconds", "tokens_per_second"};
    const double vals[5] = {s->accuracy, s->f1, s->best_accuracy, s->train_seconds, s->tokens_per_second};
    for (int k = 0; k < 5 && st == MRPC_OK; k++)
        st = runrec_attr_write_f64(g, "/summary", names[k], vals[k], w->path, err);
    if (runrec_close_id(&g) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, w->path, "/summary", "cannot close the group");
    return st;
}

/* finish and pause: everything but the status, flushed, then the status (paused_epoch > 0 only for PAUSED). */
static mrpc_status finish_record(mrpc_runrec_writer *w, mrpc_run_status status, int64_t paused_epoch,
                                 const char *reason, const mrpc_runrec_summary *summary, mrpc_error *err) {
    runrec_quiet q;
    runrec_quiet_begin(&q);
    char *why = runrec_utf8_sanitize(reason, RUNREC_REASON_MAX);
    char now[32];
    mrpc_utc_timestamp(now, sizeof now);
    mrpc_status st = why ? MRPC_OK : mrpc_error_set(err, MRPC_ERR_NOMEM, w->path, 0, 0, NULL, "out of memory");
    if (w->broken) st = refuse_broken(w, err);
    if (st == MRPC_OK) st = flush_pending(w, err);
    if (st == MRPC_OK && summary) st = write_summary(w, summary, err);
    if (st == MRPC_OK && paused_epoch > 0)
        st = runrec_attr_write_i64(w->file, "/", "paused_epoch", paused_epoch, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_str(w->file, "/", "end_time", now, 0, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_str(w->file, "/", "status_reason", why, 0, w->path, err);
    /* Everything else is on disk before the status changes. */
    if (st == MRPC_OK) st = sync_file(w, err);
    if (st == MRPC_OK)
        st = runrec_attr_write_str(w->file, "/", "status", mrpc_run_status_str(status), RUNREC_STATUS_BYTES, w->path,
                                   err);
    if (st == MRPC_OK) st = sync_file(w, err);
    if (st == MRPC_OK && writer_close(w) < 0)
        st = mrpc_error_set(err, MRPC_ERR_IO, w->path, 0, 0, NULL, "cannot close the run record");
    if (st != MRPC_OK && (is_write_failure(st) || w->broken)) {
        /* The record could not be written to the end: say "failed" on disk if possible. */
        char reason_on_disk[RUNREC_REASON_RESERVED + 64];
        char msg[sizeof reason_on_disk];
        mrpc_error_format(err, msg, sizeof msg);
        int n;
        if (status == MRPC_RUN_FAILED && why && why[0])
            n = snprintf(reason_on_disk, sizeof reason_on_disk, "%s", why);
        else
            n = snprintf(reason_on_disk, sizeof reason_on_disk,
                         "the run ended (%s) but its record could not be written: %s", mrpc_run_status_str(status), msg);
        if (n < 0) reason_on_disk[0] = '\0'; /* cut to fit is fine: status_reason holds less anyway */
        close_failed_writer(w, reason_on_disk, err);
        w = NULL;
    } else if (st != MRPC_OK) {
        writer_close(w);
    }
    free(why);
    runrec_h5_clear();
    runrec_quiet_end(&q);
    writer_free(w);
    return st;
}

mrpc_status mrpc_runrec_finish(mrpc_runrec_writer *w, mrpc_run_status status, const char *reason,
                               const mrpc_runrec_summary *summary, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "finish on a NULL writer");
    if (status != MRPC_RUN_COMPLETED && status != MRPC_RUN_FAILED && status != MRPC_RUN_DIVERGED) {
        mrpc_status st = mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, "/@status",
                                        "finish needs a final status (completed, failed or diverged), got %d; "
                                        "the record was closed as \"running\"",
                                        (int)status);
        mrpc_runrec_abandon(w);
        return st;
    }
    return finish_record(w, status, 0, reason, summary, err);
}

mrpc_status mrpc_runrec_pause(mrpc_runrec_writer *w, int64_t paused_epoch, const char *reason, mrpc_error *err) {
    if (!w) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "pause on a NULL writer");
    if (paused_epoch < 1) {
        mrpc_status st = mrpc_error_set(err, MRPC_ERR_INVALID, w->path, 0, 0, "/@paused_epoch",
                                        "a run pauses after an epoch >= 1, got %" PRId64
                                        "; the record was closed as \"running\"",
                                        paused_epoch);
        mrpc_runrec_abandon(w);
        return st;
    }
    return finish_record(w, MRPC_RUN_PAUSED, paused_epoch, reason, NULL, err);
}

void mrpc_runrec_abandon(mrpc_runrec_writer *w) {
    if (!w) return;
    runrec_quiet q;
    runrec_quiet_begin(&q);
    /* Best effort: keep what was appended; the status stays "running". */
    if (!w->broken && (flush_pending(w, NULL) != MRPC_OK || sync_file(w, NULL) != MRPC_OK)) runrec_h5_clear();
    if (writer_close(w) < 0) runrec_h5_clear();
    runrec_quiet_end(&q);
    writer_free(w);
}
