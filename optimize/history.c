/* history.c — a study's waves and run records as observations (see history.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "history.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "record_owner.h"
#include "runrec.h"
#include "strutil.h"
#include "wave.h"

static const char *const state_names[MRPC_OBS_STATE_COUNT] = {"completed", "failed",      "diverged", "missing",
                                                              "pending",   "interrupted", "retried",  "paused"};

const char *mrpc_obs_state_str(mrpc_obs_state state) {
    return (state >= 0 && state < MRPC_OBS_STATE_COUNT) ? state_names[state] : "unknown";
}

void mrpc_obs_init(mrpc_obs *o) {
    memset(o, 0, sizeof *o);
    o->objective = NAN;
    for (size_t e = 0; e < MRPC_OBS_MAX_EPOCHS; e++) o->epoch_accuracy[e] = o->epoch_f1[e] = NAN;
}

void mrpc_history_free(mrpc_history *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n_problems; i++) free(h->problems[i]);
    free(h->problems);
    free(h->obs);
    free(h->waves);
    memset(h, 0, sizeof *h);
}

mrpc_status mrpc_history_add(mrpc_history *h, const mrpc_obs *obs, mrpc_error *err) {
    size_t n = h->n_obs;
    if (n == h->cap_obs) {
        size_t cap = n ? 2 * n : 16;
        mrpc_obs *o = realloc(h->obs, cap * sizeof *o);
        if (!o) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        h->obs = o;
        h->cap_obs = cap;
    }
    h->obs[n] = *obs;
    h->n_obs = n + 1;
    return MRPC_OK;
}

void mrpc_history_problem(mrpc_history *h, const char *fmt, ...) {
    char buf[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **p = realloc(h->problems, (h->n_problems + 1) * sizeof *p);
    if (!p) return;
    h->problems = p;
    char *copy = malloc(strlen(buf) + 1);
    if (!copy) return;
    memcpy(copy, buf, strlen(buf) + 1);
    h->problems[h->n_problems++] = copy;
}

double mrpc_history_loss(const mrpc_study *study, double objective) { return study->maximize ? -objective : objective; }

int mrpc_history_worst(const mrpc_study *study, const mrpc_history *h, double *out) {
    int found = 0;
    double worst = 0.0;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->state != MRPC_OBS_COMPLETED) continue;
        double l = mrpc_history_loss(study, o->objective);
        if (!found || l > mrpc_history_loss(study, worst)) worst = o->objective;
        found = 1;
    }
    if (found) *out = worst;
    return found;
}

const mrpc_obs *mrpc_history_best(const mrpc_study *study, const mrpc_history *h) {
    const mrpc_obs *best = NULL;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->state != MRPC_OBS_COMPLETED) continue;
        if (!best || mrpc_history_loss(study, o->objective) < mrpc_history_loss(study, best->objective)) best = o;
    }
    return best;
}

size_t mrpc_history_stage_tasks(const mrpc_history *h, int stage, size_t *pending) {
    size_t n = 0, p = 0;
    for (size_t i = 0; i < h->n_obs; i++) {
        if (h->obs[i].stage != stage || h->obs[i].state == MRPC_OBS_RETRIED) continue;
        n++;
        if (h->obs[i].state == MRPC_OBS_PENDING) p++;
    }
    if (pending) *pending = p;
    return n;
}

const mrpc_wave_entry *mrpc_history_last_wave(const mrpc_history *h, int stage) {
    const mrpc_wave_entry *last = NULL;
    for (size_t i = 0; i < h->n_waves; i++)
        if (h->waves[i].stage == stage && (!last || h->waves[i].wave > last->wave)) last = &h->waves[i];
    return last;
}

void mrpc_history_unfinished(const mrpc_study *st, int latest, mrpc_obs *o) {
    int retries_done = o->attempts > 1 ? o->attempts - 1 : 0;
    if (latest && retries_done < st->retries) {
        o->state = MRPC_OBS_INTERRUPTED;
        snprintf(o->note, sizeof o->note,
                 "ended without a final record (cancelled, killed or out of time?); retry %d of %lld in the next wave",
                 retries_done + 1, (long long)st->retries);
    } else {
        o->state = MRPC_OBS_MISSING;
        if (retries_done > 0 || latest)
            snprintf(o->note, sizeof o->note, "ended without a final record after %d retr%s (retries: %lld); counted failed",
                     retries_done, retries_done == 1 ? "y" : "ies", (long long)st->retries);
        else
            snprintf(o->note, sizeof o->note, "ended without a final record and was not retried; counted failed");
    }
}

/* ---- run records ------------------------------------------------------------------- */

/* What the history keeps of a readable record. */
typedef struct rec_info {
    char            run_id[160];
    char            file[600];
    mrpc_run_status status;
    char            reason[160];
    int             matches;     /* fixed settings agree with the study */
    char            mismatch[160];
    int             in_space;    /* every space parameter present and inside the space */
    double          values[MRPC_SPACE_MAX_PARAMS];
    int64_t         seed;
    double          objective;   /* NaN when absent */
    int             used;        /* claimed by a wave task */
    int64_t         paused_epoch;                      /* > 0 when paused */
    int64_t         epochs_done;                       /* highest /eval/epoch */
    double          curve_acc[MRPC_OBS_MAX_EPOCHS];    /* after epoch e at [e - 1]; NaN when none */
    double          curve_f1[MRPC_OBS_MAX_EPOCHS];
} rec_info;

static int cmp_wave_name(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}
static int cmp_rec(const void *a, const void *b) { return strcmp(((const rec_info *)a)->run_id, ((const rec_info *)b)->run_id); }

static int is_record_name(const char *name) {
    size_t n = strlen(name);
    return n > 3 && name[0] != '.' && strcmp(name + n - 3, ".h5") == 0;
}

static int is_wave_name(const char *name) {
    size_t n = strlen(name);
    if (n < 2 || n > 4) return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] < '0' || name[i] > '9') return 0;
    return 1;
}

static int same_value(const mrpc_hparam *h, const mrpc_hparam *want) {
    if (want->kind == MRPC_VALUE_INT) return h->kind == MRPC_VALUE_INT ? h->i == want->i : h->f == (double)want->i;
    if (!isfinite(want->f)) return 1; /* unknown in the study (dropout from a checkpoint): anything goes */
    double v = mrpc_hparam_as_double(h);
    return fabs(v - want->f) <= 1e-9 * fmax(fabs(v), fabs(want->f));
}

/* ---- raw records and the record cache ------------------------------------------------ */

/* The metrics a study may optimize, in the cache's column order. */
static const char *const metric_names[] = {"accuracy", "f1", "best_accuracy", "eval_loss", "train_seconds",
                                           "tokens_per_second"};
#define N_METRICS (sizeof metric_names / sizeof metric_names[0])
#define CACHE_NAME ".mrpc-optimize-cache"
#define CACHE_HEADER "# mrpc-optimize record cache v2\n"
#define CACHE_LINE_MAX 8192

/* What the history needs of one record file, readable from HDF5 or from the cache. */
typedef struct raw_rec {
    char            name[256];    /* file name inside runs_dir */
    long long       size, mtime_ns;
    unsigned long long ino;
    char            run_id[160];
    mrpc_run_status status;
    char            reason[160];
    double          metric[N_METRICS];       /* NaN when absent or not completed */
    unsigned char   metric_known[N_METRICS]; /* eval_loss needs the series, which a cheap read skips */
    size_t          n_hparams;
    mrpc_hparam     hparams[MRPC_RUNREC_MAX_HPARAMS];
    int64_t         paused_epoch;                      /* the record's, 0 unless paused */
    int64_t         epochs_done;                       /* highest /eval/epoch, 0 when none */
    double          curve_acc[MRPC_OBS_MAX_EPOCHS];    /* /eval/accuracy after epoch e at [e - 1], NaN when none */
    double          curve_f1[MRPC_OBS_MAX_EPOCHS];
} raw_rec;

static void raw_from_runrec(const mrpc_runrec *rec, unsigned flags, raw_rec *raw) {
    mrpc_str_copy(raw->run_id, sizeof raw->run_id, rec->run_id);
    raw->status = rec->status;
    /* Failed because of the cluster (/@failure "lost_rank": a rank was lost; "requeues": more
     * requeues than --max-restarts): its checkpoint was kept and starting it again resumes
     * it, so it counts as a run without a final record (retried, never cached as final). */
    if (rec->status == MRPC_RUN_FAILED && rec->failure[0]) raw->status = MRPC_RUN_RUNNING;
    mrpc_str_copy(raw->reason, sizeof raw->reason, rec->status_reason);
    int completed = mrpc_runrec_is_completed(rec);
    for (size_t m = 0; m < N_METRICS; m++) {
        double v;
        raw->metric[m] = (completed && mrpc_runrec_metric(rec, metric_names[m], &v)) ? v : NAN;
        raw->metric_known[m] = strcmp(metric_names[m], "eval_loss") != 0 || (flags & MRPC_RUNREC_READ_SERIES);
    }
    raw->n_hparams = rec->n_hparams < MRPC_RUNREC_MAX_HPARAMS ? rec->n_hparams : MRPC_RUNREC_MAX_HPARAMS;
    memcpy(raw->hparams, rec->hparams, raw->n_hparams * sizeof *raw->hparams);
    /* The learning curve (rungs of successive halving): one entry per evaluated epoch. */
    raw->paused_epoch = rec->paused_epoch;
    raw->epochs_done  = 0;
    for (size_t e = 0; e < MRPC_OBS_MAX_EPOCHS; e++) raw->curve_acc[e] = raw->curve_f1[e] = NAN;
    for (size_t i = 0; i < rec->n_eval && rec->eval_epoch; i++) {
        int64_t e = rec->eval_epoch[i];
        if (e < 1) continue; /* the fill value of an entry a dead writer never wrote */
        if (e > raw->epochs_done) raw->epochs_done = e;
        if (e <= MRPC_OBS_MAX_EPOCHS) {
            raw->curve_acc[e - 1] = rec->eval_accuracy[i];
            raw->curve_f1[e - 1]  = rec->eval_f1[i];
        }
    }
}

static const mrpc_hparam *raw_hparam(const raw_rec *raw, const char *name) {
    for (size_t i = 0; i < raw->n_hparams; i++)
        if (strcmp(raw->hparams[i].name, name) == 0) return &raw->hparams[i];
    return NULL;
}

static size_t metric_index(const char *name) {
    for (size_t m = 0; m < N_METRICS; m++)
        if (strcmp(metric_names[m], name) == 0) return m;
    return 0;
}

/* Text without tabs and line breaks, for one cache cell. */
static void cell_clean(char *s) {
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r') *s = ' ';
}

static int cell_ok(const char *s) { return s[0] && !strpbrk(s, "\t\n\r"); }

/* One cache line; returns 0 when the entry cannot be written (odd names). */
static int cache_line(const raw_rec *r, char *buf, size_t size) {
    if (!cell_ok(r->name) || !cell_ok(r->run_id)) return 0;
    char reason[160];
    mrpc_str_copy(reason, sizeof reason, r->reason[0] ? r->reason : "-");
    cell_clean(reason);
    int n = snprintf(buf, size, "%s\t%lld\t%lld\t%llu\t%s\t%d\t%s", r->name, r->size, r->mtime_ns, r->ino, r->run_id,
                     (int)r->status, reason);
    for (size_t m = 0; m < N_METRICS && n > 0 && (size_t)n < size; m++) {
        if (!r->metric_known[m]) n += snprintf(buf + n, size - (size_t)n, "\t?");
        else if (isnan(r->metric[m])) n += snprintf(buf + n, size - (size_t)n, "\tnan");
        else n += snprintf(buf + n, size - (size_t)n, "\t%a", r->metric[m]);
    }
    /* v2: the paused epoch, then the learning curve "<epochs_done>:acc/f1,acc/f1,..." ("-" when empty). */
    if (n > 0 && (size_t)n < size) n += snprintf(buf + n, size - (size_t)n, "\t%lld\t", (long long)r->paused_epoch);
    if (n > 0 && (size_t)n < size) {
        if (r->epochs_done <= 0) {
            n += snprintf(buf + n, size - (size_t)n, "-");
        } else {
            n += snprintf(buf + n, size - (size_t)n, "%lld:", (long long)r->epochs_done);
            int64_t kept = r->epochs_done < MRPC_OBS_MAX_EPOCHS ? r->epochs_done : MRPC_OBS_MAX_EPOCHS;
            for (int64_t e = 0; e < kept && n > 0 && (size_t)n < size; e++) {
                double v[2] = {r->curve_acc[e], r->curve_f1[e]};
                for (int j = 0; j < 2 && n > 0 && (size_t)n < size; j++) {
                    const char *sep = j ? "/" : e ? "," : "";
                    if (isnan(v[j])) n += snprintf(buf + n, size - (size_t)n, "%snan", sep);
                    else n += snprintf(buf + n, size - (size_t)n, "%s%a", sep, v[j]);
                }
            }
        }
    }
    for (size_t i = 0; i < r->n_hparams && n > 0 && (size_t)n < size; i++) {
        const mrpc_hparam *hp = &r->hparams[i];
        if (!cell_ok(hp->name) || strchr(hp->name, '=')) return 0;
        if (hp->kind == MRPC_VALUE_INT) n += snprintf(buf + n, size - (size_t)n, "\t%s=i%lld", hp->name, (long long)hp->i);
        else n += snprintf(buf + n, size - (size_t)n, "\t%s=f%a", hp->name, hp->f);
    }
    if (n > 0 && (size_t)n + 2 < size) {
        buf[n++] = '\n';
        buf[n] = '\0';
        return 1;
    }
    return 0;
}

static int parse_ll(const char *s, long long *out) {
    int64_t v;
    if (!mrpc_parse_i64(s, &v)) return 0;
    *out = (long long)v;
    return 1;
}

static int parse_hexf(const char *s, double *out) {
    if (strcmp(s, "nan") == 0) { *out = NAN; return 1; }
    char *end = NULL;
    *out = strtod(s, &end);
    return end && end != s && *end == '\0';
}

/* Parses a cached learning curve ("-" or "<epochs_done>:acc/f1,acc/f1,..."; modified in place). */
static int parse_curve(char *s, raw_rec *r) {
    for (size_t e = 0; e < MRPC_OBS_MAX_EPOCHS; e++) r->curve_acc[e] = r->curve_f1[e] = NAN;
    r->epochs_done = 0;
    if (strcmp(s, "-") == 0) return 1;
    char *colon = strchr(s, ':');
    if (!colon) return 0;
    *colon = '\0';
    long long done;
    if (!parse_ll(s, &done) || done < 1 || done > INT32_MAX) return 0;
    r->epochs_done = (int64_t)done;
    int64_t kept = done < MRPC_OBS_MAX_EPOCHS ? (int64_t)done : MRPC_OBS_MAX_EPOCHS, e = 0;
    for (char *p = colon + 1; e < kept; e++) {
        char *comma = strchr(p, ',');
        if ((comma != NULL) != (e + 1 < kept)) return 0;
        if (comma) *comma = '\0';
        char *slash = strchr(p, '/');
        if (!slash) return 0;
        *slash = '\0';
        if (!parse_hexf(p, &r->curve_acc[e]) || !parse_hexf(slash + 1, &r->curve_f1[e])) return 0;
        if (!mrpc_runrec_metric_in_range("accuracy", r->curve_acc[e]) || !mrpc_runrec_metric_in_range("f1", r->curve_f1[e]))
            return 0;
        p = comma ? comma + 1 : p + strlen(p);
    }
    return 1;
}

/* Parses one cache line (modified in place). Returns 1 on success. */
static int cache_parse_line(char *line, raw_rec *r) {
    memset(r, 0, sizeof *r);
    char *cells[10 + N_METRICS + MRPC_RUNREC_MAX_HPARAMS];
    size_t n = 0;
    for (char *p = line;;) {
        if (n == sizeof cells / sizeof cells[0]) return 0;
        cells[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    if (n < 9 + N_METRICS) return 0;
    long long status, ino;
    if (!mrpc_str_copy(r->name, sizeof r->name, cells[0]) || !parse_ll(cells[1], &r->size) ||
        !parse_ll(cells[2], &r->mtime_ns) || !parse_ll(cells[3], &ino) || !mrpc_str_copy(r->run_id, sizeof r->run_id, cells[4]) ||
        !parse_ll(cells[5], &status) || status < 0 || status >= MRPC_RUN_STATUS_COUNT || status == MRPC_RUN_RUNNING)
        return 0;
    r->ino = (unsigned long long)ino;
    r->status = (mrpc_run_status)status;
    mrpc_str_copy(r->reason, sizeof r->reason, strcmp(cells[6], "-") == 0 ? "" : cells[6]);
    for (size_t m = 0; m < N_METRICS; m++) {
        const char *c = cells[7 + m];
        if (strcmp(c, "?") == 0) continue;
        if (!parse_hexf(c, &r->metric[m])) return 0;
        r->metric_known[m] = 1;
    }
    long long paused;
    if (!parse_ll(cells[7 + N_METRICS], &paused) || paused < 0 || paused > INT32_MAX ||
        (paused > 0) != (r->status == MRPC_RUN_PAUSED) || !parse_curve(cells[8 + N_METRICS], r))
        return 0;
    r->paused_epoch = (int64_t)paused;
    for (size_t i = 9 + N_METRICS; i < n; i++) {
        char *eq = strchr(cells[i], '=');
        if (!eq || eq == cells[i] || r->n_hparams >= MRPC_RUNREC_MAX_HPARAMS) return 0;
        *eq = '\0';
        mrpc_hparam *hp = &r->hparams[r->n_hparams];
        if (!mrpc_str_copy(hp->name, sizeof hp->name, cells[i])) return 0;
        if (eq[1] == 'i') {
            long long v;
            if (!parse_ll(eq + 2, &v)) return 0;
            hp->kind = MRPC_VALUE_INT;
            hp->i = (int64_t)v;
            hp->f = (double)v;
        } else if (eq[1] == 'f') {
            hp->kind = MRPC_VALUE_FLOAT;
            if (!parse_hexf(eq + 2, &hp->f)) return 0;
        } else {
            return 0;
        }
        r->n_hparams++;
    }
    return 1;
}

static int cmp_raw_name(const void *a, const void *b) { return strcmp(((const raw_rec *)a)->name, ((const raw_rec *)b)->name); }

/* Reads the cache; any damage means no cache at all (everything is read from the records). */
static raw_rec *cache_load(const char *path, size_t *n_out) {
    *n_out = 0;
    char *data = NULL;
    size_t size = 0;
    if (mrpc_file_read_all(path, (size_t)1 << 30, &data, &size, NULL) != MRPC_OK) return NULL;
    if (strncmp(data, CACHE_HEADER, strlen(CACHE_HEADER)) != 0) { free(data); return NULL; }
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    raw_rec *r = lines ? malloc(lines * sizeof *r) : NULL;
    size_t n = 0;
    int ok = r != NULL;
    for (char *p = data + strlen(CACHE_HEADER); ok && *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) { ok = 0; break; }
        *nl = '\0';
        if (n >= lines || !cache_parse_line(p, &r[n])) ok = 0;
        else n++;
        p = nl + 1;
    }
    free(data);
    if (!ok) { free(r); return NULL; }
    qsort(r, n, sizeof *r, cmp_raw_name);
    *n_out = n;
    return r;
}

static const raw_rec *cache_find(const raw_rec *c, size_t n, const char *name) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(c[mid].name, name);
        if (d == 0) return &c[mid];
        if (d < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static void inspect_record(const mrpc_study *st, const raw_rec *rec, rec_info *ri) {
    memset(ri, 0, sizeof *ri);
    mrpc_str_copy(ri->run_id, sizeof ri->run_id, rec->run_id);
    ri->status = rec->status;
    mrpc_str_copy(ri->reason, sizeof ri->reason, rec->reason);
    ri->matches = 1;
    for (size_t i = 0; i < st->n_fixed && ri->matches; i++) {
        const mrpc_hparam *want = &st->fixed[i];
        const mrpc_hparam *got = raw_hparam(rec, want->name);
        if (!got) {
            ri->matches = 0;
            snprintf(ri->mismatch, sizeof ri->mismatch, "has no %s", want->name);
        } else if (!same_value(got, want)) {
            ri->matches = 0;
            char a[40], b[40];
            mrpc_format_f64(a, sizeof a, mrpc_hparam_as_double(got));
            mrpc_format_f64(b, sizeof b, mrpc_hparam_as_double(want));
            snprintf(ri->mismatch, sizeof ri->mismatch, "%s is %s, the study fixes %s", want->name, a, b);
        }
    }
    ri->in_space = 1;
    for (size_t k = 0; k < st->space.n_params; k++) {
        const mrpc_param *p = &st->space.params[k];
        const mrpc_hparam *got = raw_hparam(rec, p->name);
        if (!got) {
            ri->in_space = 0;
            ri->values[k] = NAN;
            continue;
        }
        ri->values[k] = mrpc_hparam_as_double(got);
        if (!mrpc_param_contains(p, ri->values[k])) ri->in_space = 0;
    }
    const mrpc_hparam *seed = raw_hparam(rec, "seed");
    ri->seed = seed ? (seed->kind == MRPC_VALUE_INT ? seed->i : (int64_t)seed->f) : st->base_seed;
    double v = rec->metric[metric_index(st->metric)];
    ri->objective = rec->status == MRPC_RUN_COMPLETED && isfinite(v) ? v : NAN;
    ri->paused_epoch = rec->paused_epoch;
    ri->epochs_done = rec->epochs_done;
    memcpy(ri->curve_acc, rec->curve_acc, sizeof ri->curve_acc);
    memcpy(ri->curve_f1, rec->curve_f1, sizeof ri->curve_f1);
}

/* Reports a temporary record cache that an mrpc-optimize killed while writing it left behind. */
static void report_stale_cache(void *ctx, const char *removed) {
    const char *name = strrchr(removed, '/');
    mrpc_history_problem(ctx, "removed %s, a temporary record cache left by an interrupted mrpc-optimize",
                         name ? name + 1 : removed);
}

/* A cache entry with a metric out of range (a cache from an older build) is read again from HDF5. */
static int cached_metrics_in_range(const raw_rec *r) {
    for (size_t m = 0; m < N_METRICS; m++)
        if (r->metric_known[m] && !mrpc_runrec_metric_in_range(metric_names[m], r->metric[m])) return 0;
    return 1;
}

static void report_problem(void *ctx, const char *message) { mrpc_history_problem(ctx, "%s", message); }

/* Keeps recs[i] that mrpc_record_owners says are their run's record; *n_kept of them, in order. */
static mrpc_status keep_owned_records(const mrpc_study *st, mrpc_history *h, rec_info *recs, size_t n,
                                      size_t *n_kept, mrpc_error *err) {
    *n_kept = n;
    if (n == 0) return MRPC_OK;
    mrpc_task_outputs tasks;
    mrpc_status s = mrpc_task_outputs_load(st->dir, &tasks, err);
    if (s != MRPC_OK) return s;
    mrpc_record_file *files = malloc(n * sizeof *files);
    char (*paths)[MRPC_STUDY_PATH_MAX + 700] = malloc(n * sizeof *paths);
    int *keep = malloc(n * sizeof *keep);
    if (!files || !paths || !keep) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, st->dir, 0, 0, NULL, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            snprintf(paths[i], sizeof paths[i], "%s/%s", st->dir, recs[i].file);
            files[i] = (mrpc_record_file){recs[i].run_id, paths[i], recs[i].file};
        }
        s = mrpc_record_owners(st->dir, &tasks, files, n, keep, report_problem, h, err);
    }
    if (s == MRPC_OK) {
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (keep[i]) recs[u++] = recs[i];
        *n_kept = u;
    }
    free(files);
    free(paths);
    free(keep);
    mrpc_task_outputs_free(&tasks);
    return s;
}

/*
 * Reads every record of runs_dir: from the cache when its file name, size, mtime and
 * inode are unchanged (a record with a final status never changes again unless it is
 * rewritten, which changes those), else from HDF5. With `update`, rewrites the cache
 * when it changed.
 */
static mrpc_status read_records(const mrpc_study *st, int update, mrpc_history *h, rec_info **out, size_t *n_out,
                                mrpc_error *err) {
    *out = NULL;
    *n_out = 0;
    time_t started = time(NULL);
    char dir[MRPC_STUDY_PATH_MAX + 300], cache_path[MRPC_STUDY_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s", st->dir, st->runs_dir);
    snprintf(cache_path, sizeof cache_path, "%s/%s", st->dir, CACHE_NAME);
    char **names;
    size_t n;
    mrpc_status s = mrpc_list_dir(dir, is_record_name, NULL, &names, &n, err);
    if (s != MRPC_OK) return s;
    size_t n_cache = 0;
    raw_rec *cache = cache_load(cache_path, &n_cache);
    rec_info *recs = n ? calloc(n, sizeof *recs) : NULL;
    raw_rec *raws = n ? malloc(n * sizeof *raws) : NULL;
    mrpc_runrec *rec = malloc(sizeof *rec);
    if ((n && (!recs || !raws)) || !rec) {
        free(recs); free(raws); free(rec); free(cache); mrpc_names_free(names, n);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, dir, 0, 0, NULL, "out of memory");
    }
    size_t k = 0, n_raw = 0, hits = 0, n_final = 0;
    size_t mi = metric_index(st->metric);
    /* The attributes and the /eval series (the learning curve), or everything for eval_loss. */
    unsigned flags = strcmp(st->metric, "eval_loss") == 0 ? MRPC_RUNREC_READ_SERIES : MRPC_RUNREC_READ_EVAL;
    for (size_t i = 0; i < n; i++) {
        char path[MRPC_STUDY_PATH_MAX + 600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0) continue; /* vanished since the listing */
        raw_rec *raw = &raws[n_raw];
        const raw_rec *hit = cache_find(cache, n_cache, names[i]);
        long long mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + (long long)sb.st_mtim.tv_nsec;
        if (hit && hit->size == (long long)sb.st_size && hit->mtime_ns == mtime_ns &&
            hit->ino == (unsigned long long)sb.st_ino && hit->metric_known[mi] && cached_metrics_in_range(hit)) {
            *raw = *hit;
            hits++;
        } else {
            mrpc_error rerr = {0};
            if (mrpc_runrec_read(path, flags, rec, &rerr) != MRPC_OK) {
                char msg[1200];
                mrpc_error_format(&rerr, msg, sizeof msg);
                mrpc_history_problem(h, "skipped unreadable run record %s/%s: %s", st->runs_dir, names[i], msg);
                h->n_unreadable++;
                continue;
            }
            memset(raw, 0, sizeof *raw);
            raw_from_runrec(rec, flags, raw);
            mrpc_runrec_clear(rec);
            mrpc_str_copy(raw->name, sizeof raw->name, names[i]);
            raw->size = (long long)sb.st_size;
            raw->mtime_ns = mtime_ns;
            raw->ino = (unsigned long long)sb.st_ino;
        }
        n_final += raw->status != MRPC_RUN_RUNNING;
        n_raw++;
        inspect_record(st, raw, &recs[k]);
        snprintf(recs[k].file, sizeof recs[k].file, "%s/%s", st->runs_dir, names[i]);
        k++;
    }
    free(rec);
    mrpc_names_free(names, n);
    /* Under the study's lock, by the call about to rewrite the cache: a temporary cache
     * older than this call belongs to no live writer. */
    if (update) mrpc_remove_stale_temps(cache_path, (double)started, report_stale_cache, h);
    if (update && (hits != n_cache || hits != n_final)) {
        /* The final records, in file-name order: the cache of the next call. */
        size_t cap = 4096 + n_raw * CACHE_LINE_MAX;
        char *text = malloc(cap), line[CACHE_LINE_MAX];
        if (text) {
            size_t len = 0;
            len += (size_t)snprintf(text, cap, "%s", CACHE_HEADER);
            for (size_t i = 0; i < n_raw; i++) {
                if (raws[i].status == MRPC_RUN_RUNNING || !cache_line(&raws[i], line, sizeof line)) continue;
                size_t l = strlen(line);
                if (len + l + 1 > cap) break;
                memcpy(text + len, line, l + 1);
                len += l;
            }
            /* A cache that cannot be written only costs time next call. */
            mrpc_file_write_atomic(cache_path, text, len, NULL);
            free(text);
        }
    }
    free(raws);
    free(cache);
    /* One record per run id, by the rule mrpc-analyze applies too (record_owner.h): the
     * wave task's own output path wins, copies are reported and ignored. */
    size_t u = 0;
    s = keep_owned_records(st, h, recs, k, &u, err);
    if (s != MRPC_OK) {
        free(recs);
        return s;
    }
    if (u) qsort(recs, u, sizeof *recs, cmp_rec);
    h->n_records = u;
    *out = recs;
    *n_out = u;
    return MRPC_OK;
}

static rec_info *find_record(rec_info *recs, size_t n, const char *run_id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(recs[mid].run_id, run_id);
        if (c == 0) return &recs[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

/* The observation of a task or a record from the record's state. */
static void state_from_record(const mrpc_study *st, const rec_info *r, mrpc_obs *o) {
    o->epochs_done = r->epochs_done;
    memcpy(o->epoch_accuracy, r->curve_acc, sizeof o->epoch_accuracy);
    memcpy(o->epoch_f1, r->curve_f1, sizeof o->epoch_f1);
    if (!r->matches) {
        o->state = MRPC_OBS_FAILED;
        snprintf(o->note, sizeof o->note, "record ran with other fixed settings (%s)", r->mismatch);
        return;
    }
    switch (r->status) {
    case MRPC_RUN_COMPLETED:
        if (isfinite(r->objective)) {
            o->state = MRPC_OBS_COMPLETED;
            o->objective = r->objective;
        } else {
            o->state = MRPC_OBS_FAILED;
            snprintf(o->note, sizeof o->note, "completed without a finite %s", st->metric);
        }
        break;
    case MRPC_RUN_FAILED:
        o->state = MRPC_OBS_FAILED;
        snprintf(o->note, sizeof o->note, "failed: %s", r->reason[0] ? r->reason : "no reason recorded");
        break;
    case MRPC_RUN_DIVERGED:
        o->state = MRPC_OBS_DIVERGED;
        snprintf(o->note, sizeof o->note, "diverged%s%s", r->reason[0] ? ": " : "", r->reason);
        break;
    case MRPC_RUN_PAUSED:
        /* Stopped on purpose at a rung boundary: not a result yet, not a failure. */
        o->state = MRPC_OBS_PAUSED;
        o->paused_epoch = r->paused_epoch;
        break;
    default:
        /* Still "running": for a finalized wave's task, mrpc_history_unfinished decides. */
        o->state = MRPC_OBS_PENDING;
        break;
    }
}

/* The newest observation of run `run_id` among obs[0 .. end) of `stage` (obs are in stage order), or NULL. */
static mrpc_obs *earlier_task(mrpc_history *h, size_t end, int stage, const char *run_id) {
    for (size_t j = end; j-- > 0;) {
        if (h->obs[j].stage != stage) break;
        if (strcmp(h->obs[j].run_id, run_id) == 0) return &h->obs[j];
    }
    return NULL;
}

static mrpc_status add_wave(const mrpc_study *st, mrpc_history *h, int stage, const char *dir, int latest,
                            rec_info *recs, size_t n_recs, mrpc_error *err) {
    mrpc_wave w;
    mrpc_status s = mrpc_wave_read(dir, &w, err);
    if (s != MRPC_OK) return mrpc_error_prefix(err, "damaged wave directory %s: ", dir);
    if (strcmp(w.stage, mrpc_stage_name((mrpc_stage_kind)stage)) != 0 || strcmp(w.fixed_hash, st->fixed_hash) != 0) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, "fixed_hash",
                           "this wave was written for other fixed settings or another stage (hash %s, the study's is %s): "
                           "the base config or a constant changed since; start a new study directory",
                           w.fixed_hash, st->fixed_hash);
        mrpc_wave_clear(&w);
        return s;
    }
    /* Columns of the space parameters (all must be there) and of the seed (optional). */
    int col[MRPC_SPACE_MAX_PARAMS], seed_col = -1;
    for (size_t k = 0; k < st->space.n_params; k++) {
        col[k] = -1;
        for (size_t c = 0; c < w.n_keys; c++)
            if (strcmp(w.keys[c], st->space.params[k].name) == 0) col[k] = (int)c;
        if (col[k] < 0) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, dir, 0, 0, st->space.params[k].name,
                               "the wave has no column for parameter %s (the study changed since)", st->space.params[k].name);
            mrpc_wave_clear(&w);
            return s;
        }
    }
    int pause_col = -1;
    for (size_t c = 0; c < w.n_keys; c++) {
        if (strcmp(w.keys[c], "seed") == 0) seed_col = (int)c;
        if (strcmp(w.keys[c], "pause_after_epoch") == 0) pause_col = (int)c;
    }

    char marker[MRPC_STUDY_PATH_MAX + 200];
    snprintf(marker, sizeof marker, "%s/finalized", dir);
    mrpc_wave_entry e = {.stage = stage, .wave = w.wave, .n_tasks = w.n_tasks, .first_obs = h->n_obs,
                         .finalized = mrpc_path_exists(marker)};
    mrpc_str_copy(e.dir, sizeof e.dir, dir);
    mrpc_wave_entry *ne = realloc(h->waves, (h->n_waves + 1) * sizeof *ne);
    if (!ne) {
        mrpc_wave_clear(&w);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, dir, 0, 0, NULL, "out of memory");
    }
    h->waves = ne;
    h->waves[h->n_waves++] = e;

    for (size_t t = 0; t < w.n_tasks && s == MRPC_OK; t++) {
        const mrpc_wave_task *task = &w.tasks[t];
        mrpc_obs o;
        mrpc_obs_init(&o);
        mrpc_str_copy(o.run_id, sizeof o.run_id, task->run_id);
        o.stage = stage;
        o.wave = w.wave;
        o.task = task->task_id;
        o.objective = NAN;
        o.seed = st->base_seed;
        for (size_t k = 0; k < st->space.n_params; k++) {
            /* The reader validated every value against the run-config schema. */
            if (!mrpc_parse_f64(task->values[col[k]], &o.values[k])) o.values[k] = NAN;
        }
        if (seed_col >= 0) mrpc_parse_i64(task->values[seed_col], &o.seed);
        if (pause_col >= 0) mrpc_parse_i64(task->values[pause_col], &o.pause_after_epoch);
        /* A run listed again by a later wave is a retry: the later task is its observation. A
         * task that pauses later (or not at all) than the earlier one is its promotion instead
         * (it continues a paused run): superseded too, but not a retry. */
        o.attempts = 1;
        mrpc_obs *prev = earlier_task(h, e.first_obs, stage, task->run_id);
        if (prev) {
            int promoted = prev->pause_after_epoch > 0 &&
                           (o.pause_after_epoch == 0 || o.pause_after_epoch > prev->pause_after_epoch);
            o.attempts = promoted ? prev->attempts : prev->attempts + 1;
            prev->state = MRPC_OBS_RETRIED;
            prev->objective = NAN;
            snprintf(prev->note, sizeof prev->note, "%s in wave %02d", promoted ? "promoted" : "retried", w.wave);
        }
        rec_info *r = find_record(recs, n_recs, task->run_id);
        if (!r) {
            o.state = MRPC_OBS_PENDING;
            /* No readable record: none was written, or the run died while writing it. */
            if (e.finalized) mrpc_history_unfinished(st, latest, &o);
        } else {
            r->used = 1;
            state_from_record(st, r, &o);
            /* A record paused before this task's pause point: the promotion has not run yet. */
            if (o.state == MRPC_OBS_PAUSED && (o.pause_after_epoch == 0 || o.paused_epoch < o.pause_after_epoch))
                o.state = MRPC_OBS_PENDING;
            if (o.state == MRPC_OBS_PENDING && e.finalized) mrpc_history_unfinished(st, latest, &o);
            /* A record must have run what the task planned. */
            for (size_t k = 0; k < st->space.n_params && r->matches; k++) {
                if (!mrpc_param_equal(&st->space.params[k], r->values[k], o.values[k])) {
                    char a[40], b[40];
                    mrpc_format_f64(a, sizeof a, r->values[k]);
                    mrpc_format_f64(b, sizeof b, o.values[k]);
                    o.state = MRPC_OBS_FAILED;
                    o.objective = NAN;
                    snprintf(o.note, sizeof o.note, "record has %s = %s, the task planned %s", st->space.params[k].name, a, b);
                    break;
                }
            }
        }
        s = mrpc_history_add(h, &o, err);
    }
    mrpc_wave_clear(&w);
    return s;
}

static mrpc_status load(const mrpc_study *st, int update, mrpc_history *h, mrpc_error *err) {
    memset(h, 0, sizeof *h);
    rec_info *recs = NULL;
    size_t n_recs = 0;
    mrpc_status s = read_records(st, update, h, &recs, &n_recs, err);
    if (s != MRPC_OK) goto fail;
    /* The study's newest wave is the last one of the last stage that has waves. */
    int last_stage = -1;
    for (int stage = MRPC_STAGE_COUNT; stage-- > 0 && last_stage < 0;) {
        char sdir[MRPC_STUDY_PATH_MAX + 64];
        snprintf(sdir, sizeof sdir, "%s/waves/%s", st->dir, mrpc_stage_name((mrpc_stage_kind)stage));
        char **names;
        size_t n;
        if ((s = mrpc_list_dir(sdir, is_wave_name, NULL, &names, &n, err)) != MRPC_OK) goto fail;
        if (n) last_stage = stage;
        mrpc_names_free(names, n);
    }
    for (int stage = 0; stage < MRPC_STAGE_COUNT && s == MRPC_OK; stage++) {
        char sdir[MRPC_STUDY_PATH_MAX + 64];
        snprintf(sdir, sizeof sdir, "%s/waves/%s", st->dir, mrpc_stage_name((mrpc_stage_kind)stage));
        char **names;
        size_t n;
        s = mrpc_list_dir(sdir, is_wave_name, NULL, &names, &n, err);
        if (s != MRPC_OK) goto fail;
        /* Numeric order: "99" before "100" (shorter first, then by digits). */
        if (n) qsort(names, n, sizeof *names, cmp_wave_name);
        for (size_t i = 0; i < n && s == MRPC_OK; i++) {
            char wdir[MRPC_STUDY_PATH_MAX + 80];
            snprintf(wdir, sizeof wdir, "%s/%s", sdir, names[i]);
            char expect[24];
            snprintf(expect, sizeof expect, "%02zu", i);
            if (strcmp(names[i], expect) != 0) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, wdir, 0, 0, NULL,
                                   "waves must be numbered 00, 01, ... without gaps (expected %s)", expect);
                break;
            }
            s = add_wave(st, h, stage, wdir, stage == last_stage && i + 1 == n, recs, n_recs, err);
        }
        mrpc_names_free(names, n);
        if (s != MRPC_OK) goto fail;
    }
    /* What went wrong with the waves' runs (a retried task's earlier attempt is no news). */
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->note[0] && o->state != MRPC_OBS_RETRIED)
            mrpc_history_problem(h, "%s (%s): %s", o->run_id, mrpc_obs_state_str(o->state), o->note);
    }
    /* Runs outside the waves that belong to the study: warm-start data. */
    for (size_t i = 0; i < n_recs; i++) {
        const rec_info *r = &recs[i];
        if (r->used) continue;
        if (!r->matches) { h->n_foreign++; continue; }
        if (!r->in_space) {
            h->n_outside++;
            mrpc_history_problem(h, "ignored %s: its hyperparameters lie outside the study's space", r->file);
            continue;
        }
        mrpc_obs o;
        mrpc_obs_init(&o);
        mrpc_str_copy(o.run_id, sizeof o.run_id, r->run_id);
        o.stage = -1;
        o.wave = -1;
        o.task = -1;
        o.objective = NAN;
        o.seed = r->seed;
        /* The run's own values: the model uses them as they are; duplicate checks compare canonical forms. */
        for (size_t k = 0; k < st->space.n_params; k++) o.values[k] = r->values[k];
        state_from_record(st, r, &o);
        s = mrpc_history_add(h, &o, err);
        if (s != MRPC_OK) goto fail;
    }
    free(recs);
    return MRPC_OK;
fail:
    free(recs);
    mrpc_history_free(h);
    return s;
}

mrpc_status mrpc_history_load(const mrpc_study *st, mrpc_history *h, mrpc_error *err) { return load(st, 0, h, err); }

mrpc_status mrpc_history_load_update(const mrpc_study *st, mrpc_history *h, mrpc_error *err) {
    return load(st, 1, h, err);
}
