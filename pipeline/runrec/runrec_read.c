/* runrec_read.c — reads a run record into memory (see runrec.h).
 *
 * The file is opened read-only with HDF5 file locking off, so records can be read while
 * mrpc-train is still writing them. Everything read from the file is checked before it
 * is used: types, shapes (a one-element attribute really has one element before it is
 * read into one variable), lengths against what a file of that size can hold, and the
 * equal lengths of the series of a group. A failure leaves `out` cleared.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runrec.h"
#include "runrec_internal.h"
#include "strutil.h"

/* Series longer than this are taken as damage (2^31 optimizer steps is far beyond any run). */
#define RUNREC_MAX_ENTRIES ((int64_t)1 << 31)

typedef struct reader {
    const char *path;
    hid_t file;
    hsize_t file_size;
    unsigned flags;
    mrpc_runrec *rec;
    mrpc_error *err;
} reader;

/* ---- root attributes --------------------------------------------------------------------- */

/* Reads a string attribute of the root into a fixed field; too long is damage. */
static mrpc_status read_str_field(reader *r, const char *name, int required, char *dst, size_t dst_size) {
    char *s        = NULL;
    mrpc_status st = runrec_attr_read_str(r->file, "/", name, required, &s, r->path, r->err);
    if (st != MRPC_OK) return st;
    if (!s) {
        dst[0] = '\0';
        return MRPC_OK;
    }
    size_t n = strlen(s);
    if (n >= dst_size) {
        char where[64];
        runrec_attr_path(where, sizeof where, "/", name);
        free(s);
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where,
                              "%s is %zu bytes long; a run record keeps at most %zu", name, n, dst_size - 1);
    }
    memcpy(dst, s, n + 1);
    free(s);
    return MRPC_OK;
}

static mrpc_status read_root(reader *r) {
    mrpc_runrec *rec = r->rec;
    mrpc_status st   = runrec_check_format(r->file, r->path, &rec->format_version, r->err);
    if (st != MRPC_OK) return st;
    mrpc_str_copy(rec->format, sizeof rec->format, MRPC_RUNREC_FORMAT);

    char status[32];
    if ((st = read_str_field(r, "run_id", 1, rec->run_id, sizeof rec->run_id)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "stage", 1, rec->stage, sizeof rec->stage)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "status", 1, status, sizeof status)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "start_time", 1, rec->start_time, sizeof rec->start_time)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "end_time", 0, rec->end_time, sizeof rec->end_time)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "host", 1, rec->host, sizeof rec->host)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "hosts", 0, rec->hosts, sizeof rec->hosts)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "failure", 0, rec->failure, sizeof rec->failure)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "backend", 1, rec->backend, sizeof rec->backend)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "precision", 1, rec->precision, sizeof rec->precision)) != MRPC_OK) return st;
    if ((st = read_str_field(r, "version", 1, rec->version, sizeof rec->version)) != MRPC_OK) return st;
    if (!mrpc_run_status_parse(status, &rec->status))
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/@status",
                              "unknown status \"%s\" (expected running, completed, failed, diverged or paused)",
                              status);

    /* status_reason is free text: keep what fits, cut at a character boundary. */
    char *reason = NULL;
    if ((st = runrec_attr_read_str(r->file, "/", "status_reason", 0, &reason, r->path, r->err)) != MRPC_OK) return st;
    if (reason) {
        char *cut = runrec_utf8_sanitize(reason, RUNREC_REASON_MAX);
        free(reason);
        if (!cut) return mrpc_error_set(r->err, MRPC_ERR_NOMEM, r->path, 0, 0, NULL, "out of memory");
        mrpc_str_copy(rec->status_reason, sizeof rec->status_reason, cut);
        free(cut);
    }
    if (!(r->flags & (MRPC_RUNREC_READ_ATTRS_ONLY | MRPC_RUNREC_READ_EVAL)) &&
        (st = runrec_attr_read_str(r->file, "/", "config", 0, &rec->config_yaml, r->path, r->err)) != MRPC_OK)
        return st;

    int64_t n_ranks = 0;
    int found       = 0;
    if ((st = runrec_attr_read_i64(r->file, "/", "n_ranks", &n_ranks, &found, r->path, r->err)) != MRPC_OK) return st;
    if (!found)
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/@n_ranks",
                              "required attribute 'n_ranks' is missing (not a complete mrpc-tune run record)");
    if (n_ranks < 1 || n_ranks > INT_MAX)
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/@n_ranks", "n_ranks %" PRId64 " is out of range",
                              n_ranks);
    rec->n_ranks = (int)n_ranks;

    /* A paused record says after which epoch; only a paused one (resuming removes it). */
    int64_t paused = 0;
    found          = 0;
    if ((st = runrec_attr_read_i64(r->file, "/", "paused_epoch", &paused, &found, r->path, r->err)) != MRPC_OK)
        return st;
    if (rec->status == MRPC_RUN_PAUSED && !found)
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/@paused_epoch",
                              "a paused record needs /@paused_epoch (damaged record)");
    if (found && rec->status == MRPC_RUN_PAUSED && (paused < 1 || paused > INT32_MAX))
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/@paused_epoch",
                              "paused_epoch %" PRId64 " is out of range (expected >= 1)", paused);
    rec->paused_epoch = rec->status == MRPC_RUN_PAUSED ? paused : 0;
    return MRPC_OK;
}

/* ---- groups ----------------------------------------------------------------------------- */

/* Opens group `name` (an absolute path one level deep); *g invalid when absent and not required. */
static mrpc_status open_group(reader *r, const char *name, int required, hid_t *g) {
    *g        = H5I_INVALID_HID;
    htri_t ex = H5Lexists(r->file, name, H5P_DEFAULT);
    if (ex < 0)
        return runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, name, "cannot look up the group (damaged file?)");
    if (ex == 0) {
        if (!required) return MRPC_OK;
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, name,
                              "required group %s is missing (not a complete mrpc-tune run record)", name);
    }
    *g = H5Gopen2(r->file, name, H5P_DEFAULT);
    if (*g < 0) return runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, name, "cannot open the group (is it a group?)");
    return MRPC_OK;
}

/* ---- hyperparameters -------------------------------------------------------------------- */

typedef struct hparam_ctx {
    reader *r;
    mrpc_status st;
} hparam_ctx;

static herr_t hparam_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    hparam_ctx *c    = data;
    reader *r        = c->r;
    mrpc_runrec *rec = r->rec;
    char where[160];
    runrec_attr_path(where, sizeof where, "/hparams", name);
    if (rec->n_hparams >= MRPC_RUNREC_MAX_HPARAMS) {
        c->st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/hparams", "more than %d hyperparameters",
                               MRPC_RUNREC_MAX_HPARAMS);
        return -1;
    }
    mrpc_hparam *h = &rec->hparams[rec->n_hparams];
    if (strlen(name) >= sizeof h->name) {
        c->st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where,
                               "hyperparameter name is longer than %zu bytes", sizeof h->name - 1);
        return -1;
    }
    hid_t attr      = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t type      = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    size_t size     = type >= 0 ? H5Tget_size(type) : 0;
    runrec_close_id(&type);
    runrec_close_id(&attr);
    if (cls == H5T_NO_CLASS) {
        c->st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, where, "cannot read the hyperparameter's type");
        return -1;
    }
    int found = 0;
    if (cls == H5T_INTEGER && size <= 8) {
        h->kind = MRPC_VALUE_INT;
        c->st   = runrec_attr_read_i64(loc, "/hparams", name, &h->i, &found, r->path, r->err);
        h->f    = (double)h->i;
    } else if (cls == H5T_FLOAT && size <= 8) {
        h->kind = MRPC_VALUE_FLOAT;
        c->st   = runrec_attr_read_f64(loc, "/hparams", name, &h->f, &found, r->path, r->err);
    } else {
        c->st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where,
                               "hyperparameter '%s' has an unsupported type (expected float64 or int64)", name);
        return -1;
    }
    if (c->st != MRPC_OK) return -1;
    if (!found) {
        c->st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where, "hyperparameter vanished while reading");
        return -1;
    }
    memcpy(h->name, name, strlen(name) + 1);
    rec->n_hparams++;
    return 0;
}

static mrpc_status read_hparams(reader *r) {
    hid_t g        = H5I_INVALID_HID;
    mrpc_status st = open_group(r, "/hparams", 1, &g);
    if (st != MRPC_OK) return st;
    hparam_ctx ctx = {r, MRPC_OK};
    hsize_t idx    = 0;
    if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, hparam_cb, &ctx) < 0) {
        if (ctx.st == MRPC_OK)
            ctx.st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, "/hparams", "cannot list the hyperparameters");
        r->rec->n_hparams = 0;
    }
    runrec_h5_clear();
    runrec_close_id(&g);
    return ctx.st;
}

/* ---- value ranges ----------------------------------------------------------------------- */

/*
 * Metrics must lie in their range, or a damaged or edited record would become the
 * study's best run: accuracy and F1 in [0, 1], losses, gradient norms, learning rates,
 * times and throughputs >= 0. NaN means "not available" (the writer's fill value, and
 * what /summary holds for a value it does not have) except in the series of a completed
 * run, which are complete; +inf is allowed where `inf_ok` (the loss or gradient norm of
 * the step at which a run diverged). `index` < 0 names an attribute, else a series entry.
 */
static mrpc_status check_value(reader *r, const char *where, long long index, double v, double lo, double hi,
                               int nan_ok, int inf_ok) {
    if (isnan(v) ? nan_ok : (v >= lo && v <= hi) || (inf_ok && isinf(v) && v > 0)) return MRPC_OK;
    char entry[48] = "";
    if (index >= 0) snprintf(entry, sizeof entry, "entry %lld ", index);
    char range[64];
    if (isinf(hi))
        snprintf(range, sizeof range, "a finite number >= %g", lo);
    else
        snprintf(range, sizeof range, "a number in [%g, %g]", lo, hi);
    return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where,
                          "%sis %.17g, expected %s%s: the record is damaged or was edited; refused", entry, v, range,
                          nan_ok ? " or NaN (not available)" : "");
}

/* ---- summary ---------------------------------------------------------------------------- */

static mrpc_status read_summary(reader *r) {
    hid_t g        = H5I_INVALID_HID;
    mrpc_status st = open_group(r, "/summary", 0, &g);
    if (st != MRPC_OK || g < 0) return st;
    mrpc_runrec_summary *s = &r->rec->summary;
    const char *names[5]   = {"accuracy", "f1", "best_accuracy", "train_seconds", "tokens_per_second"};
    double *dst[5]         = {&s->accuracy, &s->f1, &s->best_accuracy, &s->train_seconds, &s->tokens_per_second};
    for (int k = 0; k < 5 && st == MRPC_OK; k++) {
        int found = 0;
        st        = runrec_attr_read_f64(g, "/summary", names[k], dst[k], &found, r->path, r->err);
        if (st == MRPC_OK && !found) {
            char where[64];
            runrec_attr_path(where, sizeof where, "/summary", names[k]);
            st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, where,
                                "/summary has no '%s' (not a complete mrpc-tune run record)", names[k]);
        }
    }
    runrec_close_id(&g);
    for (int k = 0; k < 5 && st == MRPC_OK; k++) {
        char where[64];
        runrec_attr_path(where, sizeof where, "/summary", names[k]);
        double lo = 0.0, hi = INFINITY;
        (void)mrpc_runrec_metric_range(names[k], &lo, &hi); /* every summary name has one */
        st = check_value(r, where, -1, *dst[k], lo, hi, 1, 0);
    }
    if (st == MRPC_OK)
        r->rec->has_summary = 1;
    else
        memset(s, 0, sizeof *s);
    return st;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* /checkpoints@resumes and @steps_redone when the group exists (records of runs that ended). */
static mrpc_status read_checkpoint_counts(reader *r) {
    hid_t g        = H5I_INVALID_HID;
    mrpc_status st = open_group(r, "/checkpoints", 0, &g);
    if (st != MRPC_OK || g < 0) return st;
    const char *names[2] = {"resumes", "steps_redone"};
    int64_t *dst[2]      = {&r->rec->resumes, &r->rec->steps_redone};
    for (int k = 0; k < 2 && st == MRPC_OK; k++) {
        int found = 0;
        st = runrec_attr_read_i64(g, "/checkpoints", names[k], dst[k], &found, r->path, r->err);
        if (st == MRPC_OK && (!found || *dst[k] < 0)) *dst[k] = 0; /* bookkeeping only: absent or odd is 0 */
    }
    runrec_close_id(&g);
    return st;
}

/* ---- series ----------------------------------------------------------------------------- */

/* An open 1-D numeric dataset of a group, with its length. */
typedef struct column {
    char where[64];
    hid_t ds;
    int64_t n;
} column;

/* Opens `group`/`name`, checks its class (integer or float) and shape, and sets its length. */
static mrpc_status open_column(reader *r, hid_t group, const char *group_name, const char *name, int want_int,
                               int required, column *c) {
    snprintf(c->where, sizeof c->where, "%s/%s", group_name, name);
    c->ds     = H5I_INVALID_HID;
    c->n      = 0;
    htri_t ex = H5Lexists(group, name, H5P_DEFAULT);
    if (ex < 0)
        return runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot look up the dataset (damaged file?)");
    if (ex == 0) {
        if (!required) return MRPC_OK;
        return mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, c->where,
                              "required dataset %s is missing (not a complete mrpc-tune run record)", c->where);
    }
    c->ds = H5Dopen2(group, name, H5P_DEFAULT);
    if (c->ds < 0)
        return runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot open the dataset (is it one?)");
    mrpc_status st = MRPC_OK;
    hid_t type = H5Dget_type(c->ds), space = H5I_INVALID_HID;
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    size_t size     = type >= 0 ? H5Tget_size(type) : 0;
    if (cls == H5T_NO_CLASS) {
        st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot read the dataset's type");
        goto done;
    }
    if ((want_int && cls != H5T_INTEGER) || (!want_int && cls != H5T_FLOAT) || size == 0 || size > 8) {
        st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, c->where, "expected %s values",
                            want_int ? "integer" : "floating-point");
        goto done;
    }
    space    = H5Dget_space(c->ds);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank < 0) {
        st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot read the dataset's shape");
        goto done;
    }
    if (rank != 1) {
        st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, c->where, "expected a 1-D dataset, found rank %d",
                            rank);
        goto done;
    }
    hsize_t dims = 0;
    if (H5Sget_simple_extent_dims(space, &dims, NULL) < 0) {
        st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot read the dataset's shape");
        goto done;
    }
    /* A length the file cannot back is damage; the factor leaves room for compression. */
    double bytes = (double)dims * (double)size;
    if (dims > (hsize_t)RUNREC_MAX_ENTRIES || bytes > 64.0 * (double)r->file_size + (double)(1 << 20)) {
        st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, c->where,
                            "claims %llu entries, more than a file of %llu bytes can hold (damaged file?)",
                            (unsigned long long)dims, (unsigned long long)r->file_size);
        goto done;
    }
    /* Every entry must be stored. Chunks never written would be read as the fill value,
     * and HDF5 1.10 overruns its fill buffer when a damaged file's fill-value message
     * disagrees with the type (found by fuzz_runrec); mrpc-train writes every chunk it
     * counts. Unfiltered chunked data must cover all the chunks the entries span;
     * filtered (repacked) data must at least exist. */
    if (dims > 0) {
        hid_t dcpl = H5Dget_create_plist(c->ds);
        hsize_t chunk = 0;
        if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &chunk) == 1 && chunk > 0) {
            int filtered = H5Pget_nfilters(dcpl) != 0;
            hsize_t need = (dims + chunk - 1) / chunk * chunk * (hsize_t)size;
            hsize_t have = H5Dget_storage_size(c->ds);
            if (have == 0 || (!filtered && have < need)) {
                st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, c->where,
                                    "claims %llu entries but stores %llu of the %llu bytes they need (damaged file?)",
                                    (unsigned long long)dims, (unsigned long long)have, (unsigned long long)need);
            }
        }
        runrec_close_id(&dcpl);
        if (st != MRPC_OK) goto done;
    }
    c->n = (int64_t)dims;
done:
    runrec_close_id(&type);
    runrec_close_id(&space);
    if (st != MRPC_OK) runrec_close_id(&c->ds);
    return st;
}

/* Reads the first n entries of c into a new buffer of element size elem (n > 0). */
static mrpc_status read_column(reader *r, column *c, int64_t n, hid_t memtype, size_t elem, void **out) {
    *out = NULL;
    if (n <= 0) return MRPC_OK;
    void *buf = malloc((size_t)n * elem);
    if (!buf)
        return mrpc_error_set(r->err, MRPC_ERR_NOMEM, r->path, 0, 0, c->where, "out of memory for %" PRId64 " entries",
                              n);
    hsize_t start = 0, count = (hsize_t)n;
    hid_t fspace = H5Dget_space(c->ds), mspace = H5Screate_simple(1, &count, NULL);
    mrpc_status st = MRPC_OK;
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0) {
        st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where, "cannot select the entries");
    } else if (H5Dread(c->ds, memtype, mspace, fspace, H5P_DEFAULT, buf) < 0) {
        st = runrec_h5_error(r->err, MRPC_ERR_PARSE, r->path, c->where,
                             "cannot read the entries (damaged or cut short?)");
    }
    runrec_close_id(&fspace);
    runrec_close_id(&mspace);
    if (st != MRPC_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return MRPC_OK;
}

/*
 * Opens the series of one group, checks that their lengths agree, and reads them when
 * asked. A record that is still "running" (or whose writer died) may have series of
 * different lengths when a crash hit between two of them: it is read up to the
 * shortest. Any other status with different lengths is damage.
 */
static mrpc_status read_group_series(reader *r, const char *group_name, const char *const *names, int count, int n_int,
                                     int load, void **dst[], size_t *n_out) {
    column cols[RUNREC_N_EVAL];
    for (int k = 0; k < count; k++)
        cols[k].ds = H5I_INVALID_HID;
    hid_t g        = H5I_INVALID_HID;
    mrpc_status st = open_group(r, group_name, 1, &g);
    for (int k = 0; k < count && st == MRPC_OK; k++)
        st = open_column(r, g, group_name, names[k], k < n_int, 1, &cols[k]);
    int64_t n = 0;
    if (st == MRPC_OK) {
        n = cols[0].n;
        for (int k = 1; k < count && st == MRPC_OK; k++) {
            if (cols[k].n == n) continue;
            if (r->rec->status != MRPC_RUN_RUNNING) {
                st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, cols[k].where,
                                    "has %" PRId64 " entries but %s has %" PRId64 " (damaged record)", cols[k].n,
                                    cols[0].where, cols[0].n);
            } else if (cols[k].n < n) {
                n = cols[k].n;
            }
        }
    }
    if (st == MRPC_OK && load) {
        for (int k = 0; k < count && st == MRPC_OK; k++) {
            st = read_column(r, &cols[k], n, k < n_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                             k < n_int ? sizeof(int64_t) : sizeof(double), dst[k]);
        }
        if (st == MRPC_OK) *n_out = (size_t)n;
    }
    for (int k = 0; k < count; k++)
        runrec_close_id(&cols[k].ds);
    runrec_close_id(&g);
    return st;
}

static mrpc_status read_series(reader *r) {
    mrpc_runrec *rec             = r->rec;
    void **train[RUNREC_N_TRAIN] = {(void **)&rec->train_step, (void **)&rec->train_loss,
                                    (void **)&rec->train_learning_rate, (void **)&rec->train_grad_norm};
    int load_train = (r->flags & MRPC_RUNREC_READ_SERIES) != 0;
    int load_eval  = load_train || (r->flags & MRPC_RUNREC_READ_EVAL);
    mrpc_status st = MRPC_OK;
    /* The learning curve alone (MRPC_RUNREC_READ_EVAL) does not open /train. */
    if (!(r->flags & MRPC_RUNREC_READ_EVAL))
        st = read_group_series(r, "/train", runrec_train_names, RUNREC_N_TRAIN, 1, load_train, train, &rec->n_train);
    if (st != MRPC_OK) return st;
    void **eval[RUNREC_N_EVAL] = {(void **)&rec->eval_step, (void **)&rec->eval_epoch, (void **)&rec->eval_accuracy,
                                  (void **)&rec->eval_f1, (void **)&rec->eval_loss};
    return read_group_series(r, "/eval", runrec_eval_names, RUNREC_N_EVAL, 2, load_eval, eval, &rec->n_eval);
}

/* The ranges of the series read (see check_value). */
static mrpc_status check_series(reader *r) {
    const mrpc_runrec *rec = r->rec;
    int complete           = rec->status == MRPC_RUN_COMPLETED;
    int may_diverge        = rec->status == MRPC_RUN_DIVERGED || rec->status == MRPC_RUN_RUNNING;
    mrpc_status st         = MRPC_OK;
    for (size_t i = 0; i < rec->n_train && st == MRPC_OK; i++) {
        long long k = (long long)i;
        st          = check_value(r, "/train/loss", k, rec->train_loss[i], 0.0, INFINITY, !complete, may_diverge);
        if (st == MRPC_OK)
            st = check_value(r, "/train/grad_norm", k, rec->train_grad_norm[i], 0.0, INFINITY, !complete, may_diverge);
        if (st == MRPC_OK)
            st = check_value(r, "/train/learning_rate", k, rec->train_learning_rate[i], 0.0, INFINITY, !complete, 0);
    }
    for (size_t i = 0; i < rec->n_eval && st == MRPC_OK; i++) {
        long long k = (long long)i;
        st          = check_value(r, "/eval/accuracy", k, rec->eval_accuracy[i], 0.0, 1.0, !complete, 0);
        if (st == MRPC_OK) st = check_value(r, "/eval/f1", k, rec->eval_f1[i], 0.0, 1.0, !complete, 0);
        if (st == MRPC_OK) st = check_value(r, "/eval/loss", k, rec->eval_loss[i], 0.0, INFINITY, !complete, 0);
    }
    return st;
}

static mrpc_status read_predictions(reader *r) {
    hid_t g     = H5I_INVALID_HID;
    column pred = {.ds = H5I_INVALID_HID}, lab = {.ds = H5I_INVALID_HID};
    mrpc_status st = open_group(r, "/eval", 1, &g);
    if (st == MRPC_OK) st = open_column(r, g, "/eval", "predictions", 1, 0, &pred);
    if (st == MRPC_OK) st = open_column(r, g, "/eval", "labels", 1, 0, &lab);
    if (st == MRPC_OK && (pred.ds < 0) != (lab.ds < 0)) {
        st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, pred.ds < 0 ? "/eval/predictions" : "/eval/labels",
                            "/eval/predictions and /eval/labels come together; one of them is missing");
    }
    if (st == MRPC_OK && pred.ds >= 0 && pred.n != lab.n) {
        st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, "/eval/labels",
                            "has %" PRId64 " entries but /eval/predictions has %" PRId64, lab.n, pred.n);
    }
    if (st == MRPC_OK && pred.ds >= 0 && pred.n > 0) {
        st = read_column(r, &pred, pred.n, H5T_NATIVE_INT32, sizeof(int32_t), (void **)&r->rec->predictions);
        if (st == MRPC_OK)
            st = read_column(r, &lab, lab.n, H5T_NATIVE_INT32, sizeof(int32_t), (void **)&r->rec->labels);
        if (st == MRPC_OK) r->rec->n_predictions = (size_t)pred.n;
        /* Binary classification: every prediction and label is 0 or 1. */
        for (int64_t i = 0; st == MRPC_OK && i < pred.n; i++) {
            int32_t v = r->rec->predictions[i], l = r->rec->labels[i];
            if ((v != 0 && v != 1) || (l != 0 && l != 1))
                st = mrpc_error_set(r->err, MRPC_ERR_PARSE, r->path, 0, 0, v != 0 && v != 1 ? pred.where : lab.where,
                                    "entry %" PRId64 " is %d, expected 0 or 1: the record is damaged or was edited; "
                                    "refused",
                                    i, (int)(v != 0 && v != 1 ? v : l));
        }
    }
    runrec_close_id(&pred.ds);
    runrec_close_id(&lab.ds);
    runrec_close_id(&g);
    return st;
}

/* ---- entry point ------------------------------------------------------------------------ */

mrpc_status mrpc_runrec_read(const char *path, unsigned flags, mrpc_runrec *out, mrpc_error *err) {
    if (!out) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "mrpc_runrec_read needs an out record");
    memset(out, 0, sizeof *out);
    if (!path || !path[0]) return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, NULL, "no run record path given");
    if ((flags & MRPC_RUNREC_READ_ATTRS_ONLY) && (flags & ~(unsigned)MRPC_RUNREC_READ_ATTRS_ONLY))
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                              "MRPC_RUNREC_READ_ATTRS_ONLY does not combine with other read flags");
    if ((flags & MRPC_RUNREC_READ_EVAL) && (flags & ~(unsigned)MRPC_RUNREC_READ_EVAL))
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                              "MRPC_RUNREC_READ_EVAL does not combine with other read flags");
    if (strlen(path) >= sizeof out->path)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path is longer than %zu bytes",
                              sizeof out->path - 1);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open the run record: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "not a regular file");
    if (access(path, R_OK) != 0)
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot read the run record: %s", strerror(errno));

    runrec_quiet q;
    runrec_quiet_begin(&q);
    reader r       = {.path = path, .file = H5I_INVALID_HID, .flags = flags, .rec = out, .err = err};
    mrpc_status st = MRPC_OK;
    hid_t fapl     = runrec_fapl(0, path, err);
    if (fapl < 0) {
        st = MRPC_ERR_HDF5;
        goto done;
    }
    r.file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (r.file < 0) {
        mrpc_error local = {0};
        st               = runrec_h5_error(&local, MRPC_ERR_PARSE, path, NULL,
                                           "not a readable HDF5 file (not HDF5, damaged, or cut short)");
        runrec_close_id(&fapl);
        /* This process has the record open for writing (HDF5 shares one open file per
         * process and wants the same locking setting): open it with the writer's. */
        if (strstr(local.message, "file locking flag values don't match")) {
            fapl = runrec_fapl(1, path, err);
            if (fapl < 0) {
                st = MRPC_ERR_HDF5;
                goto done;
            }
            r.file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
            if (r.file < 0)
                st = runrec_h5_error(&local, MRPC_ERR_PARSE, path, NULL,
                                     "not a readable HDF5 file (not HDF5, damaged, or cut short)");
            else
                st = MRPC_OK;
            runrec_close_id(&fapl);
        }
        if (st != MRPC_OK) {
            if (err) *err = local;
            goto done;
        }
    }
    runrec_close_id(&fapl);
    if (H5Fget_filesize(r.file, &r.file_size) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, NULL, "cannot get the file size");
        goto done;
    }
    mrpc_str_copy(out->path, sizeof out->path, path);
    if ((st = read_root(&r)) != MRPC_OK) goto done;
    if ((st = read_hparams(&r)) != MRPC_OK) goto done;
    if ((st = read_summary(&r)) != MRPC_OK) goto done;
    if ((st = read_checkpoint_counts(&r)) != MRPC_OK) goto done;
    if (!(flags & MRPC_RUNREC_READ_ATTRS_ONLY) && (st = read_series(&r)) != MRPC_OK) goto done;
    if ((flags & (MRPC_RUNREC_READ_SERIES | MRPC_RUNREC_READ_EVAL)) && (st = check_series(&r)) != MRPC_OK) goto done;
    if ((flags & MRPC_RUNREC_READ_PREDICTIONS) && (st = read_predictions(&r)) != MRPC_OK) goto done;
    if (runrec_close_id(&r.file) < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot close the file");
done:
    if (runrec_close_id(&r.file) < 0) runrec_h5_clear();
    runrec_h5_clear();
    runrec_quiet_end(&q);
    if (st != MRPC_OK) mrpc_runrec_clear(out);
    return st;
}
