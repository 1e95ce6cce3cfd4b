/* runrec_write.c — the run-record writer used by rank 0 of mrpc-train (see runrec.h).
 *
 * Train entries are buffered (RUNREC_TRAIN_BUFFER of them) and written as one
 * H5Dset_extent + hyperslab write per series; evaluations are written at once and
 * followed by H5Fflush and fsync, which is the point where a reader is sure to see a
 * consistent file. The status attribute is written last in finish, after a flush, so a
 * record never says "completed" before the rest of it is on disk.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "mrpc_version.h"
#include "runrec.h"
#include "runrec_internal.h"
#include "timeutil.h"

enum {
    RUNREC_TRAIN_BUFFER = 256, /* train entries kept in memory between writes */
    RUNREC_TRAIN_CHUNK  = 512, /* chunk length of the /train series (4 KiB of float64) */
    RUNREC_EVAL_CHUNK   = 16   /* chunk length of the /eval series */
};

struct mrpc_runrec_writer {
    char *path;
    hid_t file;
    hid_t train[RUNREC_N_TRAIN]; /* /train/{step,loss,learning_rate,grad_norm} */
    hid_t eval[RUNREC_N_EVAL];   /* /eval/{step,epoch,accuracy,f1,loss} */
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
                                             "n_ranks", "backend",        "precision",  "config"};

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
    w->file = H5I_INVALID_HID;
    for (int k = 0; k < RUNREC_N_TRAIN; k++)
        w->train[k] = H5I_INVALID_HID;
    for (int k = 0; k < RUNREC_N_EVAL; k++)
        w->eval[k] = H5I_INVALID_HID;
    return w;
}

/* Closes every handle (the file last) and returns -1 when closing the file failed. */
static int writer_close(mrpc_runrec_writer *w) {
    for (int k = 0; k < RUNREC_N_TRAIN; k++)
        runrec_close_id(&w->train[k]);
    for (int k = 0; k < RUNREC_N_EVAL; k++)
        runrec_close_id(&w->eval[k]);
    return runrec_close_id(&w->file);
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

/* fsync of the file behind `file` (sec2 driver), so a flush survives a node crash. */
static mrpc_status sync_file(mrpc_runrec_writer *w, mrpc_error *err) {
    if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0)
        return runrec_h5_error(err, MRPC_ERR_HDF5, w->path, "/", "cannot flush the file");
    void *handle = NULL;
    if (H5Fget_vfd_handle(w->file, H5P_DEFAULT, &handle) < 0 || !handle) {
        runrec_h5_clear(); /* another driver: the flush above is all we can do */
        return MRPC_OK;
    }
    int fd = *(int *)handle;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
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
    if ((st = runrec_attr_write_str(f, "/", "status_reason", "", 0, p, err)) != MRPC_OK) return st;
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
    hid_t fapl = runrec_fapl(1, path, err);
    /* Root attributes stay in the root's object header (up to 64 of them). */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fapl < 0) {
        st = MRPC_ERR_HDF5;
    } else if (fcpl < 0 || H5Pset_attr_phase_change(fcpl, 64, 8) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot set up the file creation properties");
    } else {
        w->file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
        if (w->file < 0) st = open_failure(err, path, "cannot create the run record"); /* before H5Pclose */
    }
    runrec_close_id(&fapl);
    runrec_close_id(&fcpl);
    if (st == MRPC_OK) {
        st = write_layout(w, meta, hparams, n_hparams, err);
        if (st != MRPC_OK) {
            /* We created (or truncated) the file: remove the partial record. */
            writer_close(w);
            runrec_h5_clear();
            if (unlink(path) != 0 && errno != ENOENT) mrpc_error_prefix(err, "(could not remove the partial file) ");
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
    if ((st = runrec_attr_write_str(w->file, "/", "status", "running", RUNREC_STATUS_BYTES, path, err)) != MRPC_OK)
        goto done;
    if ((st = sync_file(w, err)) != MRPC_OK) goto done;
    if ((st = runrec_attr_write_str(w->file, "/", "status_reason", "", 0, path, err)) != MRPC_OK) goto done;
    if ((st = runrec_attr_delete_if_exists(w->file, "/", "end_time", path, err)) != MRPC_OK) goto done;
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
    if (st != MRPC_OK) {
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
    if (w->n_pending == RUNREC_TRAIN_BUFFER) {
        runrec_quiet q;
        runrec_quiet_begin(&q);
        mrpc_status st = flush_pending(w, err);
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
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = delete_link_if_exists(w->file, "/eval/predictions", w->path, err);
    if (st == MRPC_OK) st = delete_link_if_exists(w->file, "/eval/labels", w->path, err);
    if (st == MRPC_OK) st = write_int32_vector(w->file, "/eval/predictions", predictions, n, w->path, err);
    if (st == MRPC_OK) st = write_int32_vector(w->file, "/eval/labels", labels, n, w->path, err);
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
    runrec_quiet q;
    runrec_quiet_begin(&q);
    mrpc_status st = runrec_attr_write_str(w->file, "/", name, value, 0, w->path, err);
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
    runrec_quiet q;
    runrec_quiet_begin(&q);
    char *why = runrec_utf8_sanitize(reason, RUNREC_REASON_MAX);
    char now[32];
    mrpc_utc_timestamp(now, sizeof now);
    mrpc_status st = why ? MRPC_OK : mrpc_error_set(err, MRPC_ERR_NOMEM, w->path, 0, 0, NULL, "out of memory");
    if (st == MRPC_OK) st = flush_pending(w, err);
    if (st == MRPC_OK && summary) st = write_summary(w, summary, err);
    if (st == MRPC_OK) st = runrec_attr_write_str(w->file, "/", "end_time", now, 0, w->path, err);
    if (st == MRPC_OK) st = runrec_attr_write_str(w->file, "/", "status_reason", why, 0, w->path, err);
    /* Everything else is on disk before the status changes. */
    if (st == MRPC_OK) st = sync_file(w, err);
    if (st == MRPC_OK)
        st = runrec_attr_write_str(w->file, "/", "status", mrpc_run_status_str(status), RUNREC_STATUS_BYTES, w->path,
                                   err);
    if (st == MRPC_OK) st = sync_file(w, err);
    free(why);
    if (writer_close(w) < 0 && st == MRPC_OK)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, w->path, NULL, "cannot close the run record");
    runrec_h5_clear();
    runrec_quiet_end(&q);
    writer_free(w);
    return st;
}

void mrpc_runrec_abandon(mrpc_runrec_writer *w) {
    if (!w) return;
    runrec_quiet q;
    runrec_quiet_begin(&q);
    /* Best effort: keep what was appended; the status stays "running". */
    if (flush_pending(w, NULL) == MRPC_OK && w->file >= 0 && H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0) runrec_h5_clear();
    if (writer_close(w) < 0) runrec_h5_clear();
    runrec_quiet_end(&q);
    writer_free(w);
}
