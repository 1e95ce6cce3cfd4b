/* runset_load.c — finds and reads the run records and wave task lists of a study (see runset.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "record_owner.h"
#include "strutil.h"
#include "runset.h"
#include "yaml_doc.h"

#define TASKS_MAX_BYTES (64u << 20)

const char *mrpc_runset_state_str(mrpc_runset_state s) {
    switch (s) {
    case MRPC_RUNSET_COMPLETED: return "completed";
    case MRPC_RUNSET_FAILED: return "failed";
    case MRPC_RUNSET_DIVERGED: return "diverged";
    case MRPC_RUNSET_RUNNING: return "running";
    case MRPC_RUNSET_MISSING: return "missing";
    case MRPC_RUNSET_UNREADABLE: return "unreadable";
    case MRPC_RUNSET_PAUSED: return "paused";
    default: return "unknown";
    }
}

int mrpc_runset_stage_rank(const char *stage) {
    if (strcmp(stage, "sensitivity") == 0) return 0;
    if (strcmp(stage, "grid") == 0) return 1;
    if (strcmp(stage, "bayes") == 0) return 2;
    return 3;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void warn(mrpc_runset *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warn(mrpc_runset *s, const char *fmt, ...) {
    size_t cap = sizeof s->warnings / sizeof s->warnings[0];
    if (s->n_warnings >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->warnings[s->n_warnings++], sizeof s->warnings[0], fmt, ap);
    va_end(ap);
}

/* Appends a blank run; returns it or NULL when memory runs out. */
static mrpc_runset_run *add_run(mrpc_runset *s, size_t *cap) {
    if (s->n_runs == *cap) {
        size_t nc = *cap ? 2 * *cap : 32;
        mrpc_runset_run *p = realloc(s->runs, nc * sizeof *p);
        if (!p) return NULL;
        s->runs = p;
        *cap = nc;
    }
    mrpc_runset_run *r = &s->runs[s->n_runs++];
    memset(r, 0, sizeof *r);
    r->objective = NAN;
    r->wave = -1;
    r->task = -1;
    return r;
}


static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* dst = a + "/" + b; returns 0 (dst empty) when it does not fit. */
static int join_path(char *dst, size_t size, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb + 1 > size) {
        dst[0] = '\0';
        return 0;
    }
    memcpy(dst, a, la);
    dst[la] = '/';
    memcpy(dst + la + 1, b, lb + 1);
    return 1;
}

static const char *base_name(const char *path) {
    const char *p = strrchr(path, '/');
    return p ? p + 1 : path;
}

/* ---- records ---------------------------------------------------------------------------- */

static mrpc_runset_state state_of(mrpc_run_status st) {
    switch (st) {
    case MRPC_RUN_COMPLETED: return MRPC_RUNSET_COMPLETED;
    case MRPC_RUN_FAILED: return MRPC_RUNSET_FAILED;
    case MRPC_RUN_DIVERGED: return MRPC_RUNSET_DIVERGED;
    case MRPC_RUN_PAUSED: return MRPC_RUNSET_PAUSED;
    default: return MRPC_RUNSET_RUNNING;
    }
}

static mrpc_status load_records(mrpc_runset *s, size_t *cap, mrpc_error *err) {
    char **names;
    size_t n;
    mrpc_status st = mrpc_list_dir(s->runs_dir, NULL, NULL, &names, &n, err);
    if (st != MRPC_OK) return st;
    for (size_t i = 0; i < n; i++) {
        if (!ends_with(names[i], ".h5")) continue;
        mrpc_runset_run *r = add_run(s, cap);
        if (!r) {
            mrpc_names_free(names, n);
            return mrpc_error_set(err, MRPC_ERR_NOMEM, s->runs_dir, 0, 0, NULL, "out of memory");
        }
        size_t id_len = strlen(names[i]) - 3;
        snprintf(r->run_id, sizeof r->run_id, "%.*s", (int)(id_len < sizeof r->run_id ? id_len : sizeof r->run_id - 1),
                 names[i]);
        if (!join_path(r->file, sizeof r->file, s->runs_dir, names[i])) {
            r->state = MRPC_RUNSET_UNREADABLE;
            snprintf(r->reason, sizeof r->reason, "path of %s is too long", names[i]);
            continue;
        }
        mrpc_error rerr = {0};
        if (mrpc_runrec_read(r->file, MRPC_RUNREC_READ_SERIES | MRPC_RUNREC_READ_PREDICTIONS, &r->rec, &rerr) != MRPC_OK) {
            if (rerr.status == MRPC_ERR_NOMEM) {
                mrpc_names_free(names, n);
                *err = rerr;
                return MRPC_ERR_NOMEM;
            }
            r->state = MRPC_RUNSET_UNREADABLE;
            mrpc_error_format(&rerr, r->reason, sizeof r->reason);
            continue;
        }
        r->has_record = 1;
        mrpc_str_copy(r->run_id, sizeof r->run_id, r->rec.run_id);
        mrpc_str_copy(r->stage, sizeof r->stage, r->rec.stage);
        mrpc_str_copy(r->reason, sizeof r->reason, r->rec.status_reason);
        r->state = state_of(r->rec.status);
        if (r->state == MRPC_RUNSET_RUNNING && !r->reason[0])
            snprintf(r->reason, sizeof r->reason,
                     "the record still says \"running\": in progress, or its job died before finishing "
                     "(%zu optimizer steps and %zu evaluations recorded)",
                     r->rec.n_train, r->rec.n_eval);
        if (r->state == MRPC_RUNSET_COMPLETED) {
            double v;
            if (mrpc_runrec_metric(&r->rec, s->objective, &v) && isfinite(v)) {
                r->usable = 1;
                r->objective = v;
            } else {
                snprintf(r->reason, sizeof r->reason, "completed, but /summary has no finite %s", s->objective);
            }
        }
    }
    mrpc_names_free(names, n);
    return MRPC_OK;
}

static void report_warning(void *ctx, const char *message) { warn(ctx, "%s", message); }

/*
 * One run id, one record, by the rule mrpc-optimize applies too (record_owner.h): the
 * wave task's own output path wins; copies (x.bak.h5) are warned about and dropped, so
 * they are not counted twice.
 */
static mrpc_status drop_copies(mrpc_runset *s, mrpc_error *err) {
    size_t n = s->n_runs;
    if (n == 0) return MRPC_OK;
    mrpc_task_outputs tasks;
    mrpc_status st = mrpc_task_outputs_load(s->root, &tasks, err);
    if (st != MRPC_OK) return st;
    mrpc_record_file *files = malloc(n * sizeof *files);
    size_t *which = malloc(n * sizeof *which);
    int *keep = malloc(n * sizeof *keep);
    size_t m = 0;
    if (!files || !which || !keep) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, s->runs_dir, 0, 0, NULL, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!s->runs[i].has_record) continue;
            /* Named as in the optimizer's messages: relative to the study directory. */
            const char *name = s->runs[i].file;
            size_t lr        = strlen(s->root);
            if (strncmp(name, s->root, lr) == 0 && name[lr] == '/') name += lr + 1;
            files[m] = (mrpc_record_file){s->runs[i].run_id, s->runs[i].file, name};
            which[m++] = i;
        }
        st = mrpc_record_owners(s->root, &tasks, files, m, keep, report_warning, s, err);
    }
    if (st == MRPC_OK) {
        for (size_t j = 0; j < m; j++)
            if (!keep[j]) s->runs[which[j]].has_record = -1; /* marked for removal */
        size_t u = 0;
        for (size_t i = 0; i < n; i++) {
            if (s->runs[i].has_record == -1) {
                mrpc_runrec_clear(&s->runs[i].rec);
                continue;
            }
            s->runs[u++] = s->runs[i];
        }
        s->n_runs = u;
    }
    free(files);
    free(which);
    free(keep);
    mrpc_task_outputs_free(&tasks);
    return st;
}

/* ---- waves ------------------------------------------------------------------------------ */

static mrpc_runset_run *find_run(mrpc_runset *s, const char *run_id, size_t limit) {
    for (size_t i = 0; i < limit; i++)
        if (strcmp(s->runs[i].run_id, run_id) == 0) return &s->runs[i];
    return NULL;
}

#define TSV_MAX_COLS (MRPC_RUNREC_MAX_HPARAMS + 8)

/* A run without a readable record gets the hyperparameters of its tasks.tsv row, for the tables. */
static void task_hparams(mrpc_runset_run *r, char **header, char **f, size_t n_cols, int col_task, int col_run,
                         int col_out) {
    r->rec.n_hparams = 0;
    for (size_t c = 0; c < n_cols; c++) {
        if ((int)c == col_task || (int)c == col_run || (int)c == col_out) continue;
        if (strcmp(header[c], "pause_after_epoch") == 0) continue; /* a control of the run, not a hyperparameter */
        double v;
        if (!mrpc_parse_f64(f[c], &v) || r->rec.n_hparams >= MRPC_RUNREC_MAX_HPARAMS) continue;
        mrpc_hparam *h = &r->rec.hparams[r->rec.n_hparams++];
        mrpc_str_copy(h->name, sizeof h->name, header[c]);
        h->kind = MRPC_VALUE_FLOAT;
        h->f = v;
    }
}

static mrpc_status load_tasks(mrpc_runset *s, size_t *cap, const char *path, const char *rel, const char *stage,
                              int wave, mrpc_error *err) {
    char *text = NULL;
    size_t size = 0;
    mrpc_error ferr = {0};
    if (mrpc_file_read_all(path, TASKS_MAX_BYTES, &text, &size, &ferr) != MRPC_OK) {
        char msg[600];
        mrpc_error_format(&ferr, msg, sizeof msg);
        warn(s, "%s could not be read (%s); its tasks are not checked", rel, msg);
        return MRPC_OK;
    }
    s->n_wave_files++;
    size_t n_existing = s->n_runs;
    /* <wave>/finalized: the wave's array has ended (mrpc-optimize next --finalize). */
    char marker[3 * MRPC_RUNSET_PATH_MAX + 16];
    snprintf(marker, sizeof marker, "%s", path);
    char *slash = strrchr(marker, '/');
    if (slash) snprintf(slash + 1, sizeof marker - (size_t)(slash + 1 - marker), "finalized");
    int finalized = slash && mrpc_path_exists(marker);
    char *header[TSV_MAX_COLS];
    size_t n_cols = 0;
    int col_task = -1, col_run = -1, col_out = -1, col_pause = -1;
    long line_no = 0;
    char *save = text;
    mrpc_status st = MRPC_OK;
    while (save && *save) {
        char *line = save;
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            save = nl + 1;
        } else {
            save = NULL;
        }
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        if (n_cols == 0) {
            n_cols = mrpc_split_tabs(line, header, TSV_MAX_COLS);
            for (size_t c = 0; c < n_cols; c++) {
                if (strcmp(header[c], "task_id") == 0) col_task = (int)c;
                else if (strcmp(header[c], "run_id") == 0) col_run = (int)c;
                else if (strcmp(header[c], "output") == 0) col_out = (int)c;
                else if (strcmp(header[c], "pause_after_epoch") == 0) col_pause = (int)c;
            }
            if (col_run < 0) {
                warn(s, "%s:%ld: the header has no run_id column; its tasks are not checked", rel, line_no);
                break;
            }
            continue;
        }
        char *f[TSV_MAX_COLS];
        size_t nf = mrpc_split_tabs(line, f, TSV_MAX_COLS);
        if (nf != n_cols) {
            warn(s, "%s:%ld: %zu fields, the header has %zu; row skipped", rel, line_no, nf, n_cols);
            continue;
        }
        const char *run_id = f[col_run];
        long task = -1;
        int64_t tv;
        if (col_task >= 0 && mrpc_parse_i64(f[col_task], &tv)) task = (long)tv;
        if (task < 0) task = line_no;
        int64_t pause = 0;
        if (col_pause >= 0 && !mrpc_parse_i64(f[col_pause], &pause)) pause = 0;
        mrpc_runset_run *r = find_run(s, run_id, n_existing);
        if (!r && col_out >= 0) {
            /* An unreadable record is known by its file name only. */
            for (size_t i = 0; i < n_existing && !r; i++) {
                mrpc_runset_run *u = &s->runs[i];
                if (u->state == MRPC_RUNSET_UNREADABLE && strcmp(base_name(u->file), base_name(f[col_out])) == 0) r = u;
            }
        }
        if (r) {
            if (r->wave >= 0 && strcmp(r->wave_stage, stage) == 0 && wave > r->wave) {
                /* A later wave of the stage retries a run that ended without a final record, or
                 * promotes a paused one (it pauses later, or runs to the end). */
                if (r->pause_after_epoch > 0 && (pause == 0 || pause > r->pause_after_epoch)) r->promotions++;
                else r->retries++;
                r->pause_after_epoch = pause;
                r->wave = wave;
                r->task = task;
                r->wave_finalized = finalized;
                continue;
            }
            if (r->wave >= 0) {
                warn(s, "%s:%ld: run %s is also listed in waves/%s/%02d; the first listing is kept", rel, line_no, run_id,
                     r->wave_stage, r->wave);
                continue;
            }
            if (!r->stage[0]) mrpc_str_copy(r->stage, sizeof r->stage, stage);
            if (r->state == MRPC_RUNSET_UNREADABLE) {
                mrpc_str_copy(r->run_id, sizeof r->run_id, run_id);
                task_hparams(r, header, f, n_cols, col_task, col_run, col_out);
            }
        } else {
            if (!(r = add_run(s, cap))) {
                st = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
                break;
            }
            r->state = MRPC_RUNSET_MISSING;
            mrpc_str_copy(r->run_id, sizeof r->run_id, run_id);
            mrpc_str_copy(r->stage, sizeof r->stage, stage);
            if (col_out >= 0) {
                if (f[col_out][0] == '/') mrpc_str_copy(r->file, sizeof r->file, f[col_out]);
                else (void)join_path(r->file, sizeof r->file, s->root, f[col_out]);
            }
            snprintf(r->reason, sizeof r->reason, "task %ld of %s has no run record%s%s", task, rel,
                     col_out >= 0 ? " at " : "", col_out >= 0 ? f[col_out] : "");
            task_hparams(r, header, f, n_cols, col_task, col_run, col_out);
        }
        r->wave = wave;
        r->task = task;
        r->wave_finalized = finalized;
        r->pause_after_epoch = pause;
        mrpc_str_copy(r->wave_stage, sizeof r->wave_stage, stage);
    }
    free(text);
    return st;
}

static mrpc_status load_waves(mrpc_runset *s, size_t *cap, mrpc_error *err) {
    char waves[MRPC_RUNSET_PATH_MAX + 8];
    snprintf(waves, sizeof waves, "%s/waves", s->root);
    char **stages;
    size_t n_stages;
    mrpc_status st = mrpc_list_dir(waves, NULL, NULL, &stages, &n_stages, err);
    if (st != MRPC_OK) return st;
    for (size_t i = 0; i < n_stages && st == MRPC_OK; i++) {
        char sdir[2 * MRPC_RUNSET_PATH_MAX];
        snprintf(sdir, sizeof sdir, "%s/%s", waves, stages[i]);
        if (!is_dir(sdir)) continue;
        char **nums;
        size_t n_nums;
        if ((st = mrpc_list_dir(sdir, NULL, NULL, &nums, &n_nums, err)) != MRPC_OK) break;
        for (size_t k = 0; k < n_nums && st == MRPC_OK; k++) {
            int64_t nn;
            if (!mrpc_parse_i64(nums[k], &nn) || nn < 0 || nn > 1000000) continue;
            char path[3 * MRPC_RUNSET_PATH_MAX], rel[512];
            snprintf(path, sizeof path, "%s/%s/tasks.tsv", sdir, nums[k]);
            snprintf(rel, sizeof rel, "waves/%s/%s/tasks.tsv", stages[i], nums[k]);
            if (!mrpc_path_exists(path)) continue;
            st = load_tasks(s, cap, path, rel, stages[i], (int)nn, err);
        }
        mrpc_names_free(nums, n_nums);
    }
    mrpc_names_free(stages, n_stages);
    /* After the waves: what a finished array left unfinished, and which runs were retried. */
    for (size_t i = 0; i < s->n_runs && st == MRPC_OK; i++) {
        mrpc_runset_run *r = &s->runs[i];
        if (r->state == MRPC_RUNSET_RUNNING && r->wave_finalized) {
            r->state = MRPC_RUNSET_MISSING;
            snprintf(r->reason, sizeof r->reason,
                     "ended without a final record (the record still says \"running\"; killed, cancelled or out of "
                     "time) after %d retr%s: counted failed", r->retries, r->retries == 1 ? "y" : "ies");
        } else if (r->retries > 0 && !r->reason[0]) {
            snprintf(r->reason, sizeof r->reason,
                     "retried %d time%s in a later wave (an earlier attempt ended without a final record)", r->retries,
                     r->retries == 1 ? "" : "s");
        }
    }
    return st;
}

/* ---- parameters ------------------------------------------------------------------------- */

static int add_param(mrpc_runset *s, const char *name) {
    for (size_t p = 0; p < s->n_params; p++)
        if (strcmp(s->params[p].name, name) == 0) return (int)p;
    if (s->n_params >= MRPC_RUNSET_MAX_PARAMS) return -1;
    mrpc_runset_param *p = &s->params[s->n_params];
    memset(p, 0, sizeof *p);
    mrpc_str_copy(p->name, sizeof p->name, name);
    p->is_seed = strcmp(name, "seed") == 0 || ends_with(name, ".seed") || ends_with(name, "_seed");
    p->min = p->max = NAN;
    return (int)s->n_params++;
}

/* The objective of a W&B sweep file (optimize/wandb_sweep.h): metric.name, eval/ or eval_ dropped; NULL when absent. */
static const char *wandb_metric(const mrpc_yaml_doc *doc, const yaml_node_t *root) {
    const yaml_node_t *metric = mrpc_yaml_map_get(doc, root, "metric");
    const yaml_node_t *name = metric && metric->type == YAML_MAPPING_NODE ? mrpc_yaml_map_get(doc, metric, "name") : NULL;
    const char *m = name ? mrpc_yaml_scalar(name) : NULL;
    if (m && (strncmp(m, "eval/", 5) == 0 || strncmp(m, "eval_", 5) == 0) &&
        (strcmp(m + 5, "accuracy") == 0 || strcmp(m + 5, "f1") == 0)) m += 5;
    return m;
}

/*
 * Reads the study file (optimize/study.h's format; every key optional here):
 * objective.metric (when `objective` is still unset), runs_dir, and per parameter its
 * distribution: a log distribution marks the parameter log-scaled, any other (or one
 * inferred from value / values / min+max) linear. A file that cannot be parsed is a
 * warning: log scales are then guessed from the values.
 */
static void read_study_file(mrpc_runset *s, const char *path, int objective_given, char *runs_dir_key,
                            size_t runs_dir_size) {
    runs_dir_key[0] = '\0';
    if (!mrpc_path_exists(path)) return;
    s->has_study_yaml = 1;
    mrpc_yaml_doc *doc = NULL;
    mrpc_error yerr = {0};
    if (mrpc_yaml_load_file(path, &doc, &yerr) != MRPC_OK) {
        char msg[300];
        mrpc_error_format(&yerr, msg, sizeof msg);
        warn(s, "the study file could not be read (%s); log scales are guessed from the values", msg);
        return;
    }
    const yaml_node_t *root = mrpc_yaml_root(doc);
    const yaml_node_t *obj = mrpc_yaml_map_get(doc, root, "objective");
    const yaml_node_t *metric = obj ? mrpc_yaml_map_get(doc, obj, "metric") : NULL;
    const char *m = metric ? mrpc_yaml_scalar(metric) : NULL;
    if (!obj && mrpc_yaml_map_get(doc, root, "method")) m = wandb_metric(doc, root); /* a W&B sweep file */
    if (m && !objective_given) {
        if (strcmp(m, "accuracy") == 0 || strcmp(m, "f1") == 0) mrpc_str_copy(s->objective, sizeof s->objective, m);
        else warn(s, "the study's objective \"%.60s\" is not one mrpc-analyze ranks by; using accuracy", m);
    }
    const yaml_node_t *rd = mrpc_yaml_map_get(doc, root, "runs_dir");
    if (rd && mrpc_yaml_scalar(rd)) mrpc_str_copy(runs_dir_key, runs_dir_size, mrpc_yaml_scalar(rd));
    const yaml_node_t *params = mrpc_yaml_map_get(doc, root, "parameters");
    for (size_t i = 0; params && i < mrpc_yaml_len(params); i++) {
        const char *name;
        const yaml_node_t *kn, *val;
        if (!mrpc_yaml_map_at(doc, params, i, &name, &kn, &val) || val->type != YAML_MAPPING_NODE) continue;
        const yaml_node_t *dist = mrpc_yaml_map_get(doc, val, "distribution");
        const char *d = dist ? mrpc_yaml_scalar(dist) : NULL;
        int idx = add_param(s, name);
        if (idx < 0) continue;
        s->params[idx].log_from_space = 1;
        s->params[idx].log_scale = d && strstr(d, "log") != NULL && strstr(d, "inv") == NULL;
    }
    mrpc_yaml_free(doc);
}

static int same_value(double a, double b) { return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

static void param_stats(mrpc_runset *s) {
    for (size_t p = 0; p < s->n_params; p++) {
        mrpc_runset_param *P = &s->params[p];
        double mn = INFINITY, mx = -INFINITY;
        int all_int = 1, any = 0, all_pos = 1;
        size_t distinct = 0;
        for (size_t i = 0; i < s->n_runs; i++) {
            if (!s->runs[i].usable) continue;
            double v = s->runs[i].x[p];
            if (!isfinite(v)) continue;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                if (s->runs[j].usable && isfinite(s->runs[j].x[p]) && same_value(s->runs[j].x[p], v)) seen = 1;
            if (!seen) distinct++;
            any = 1;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            if (v != floor(v)) all_int = 0;
            if (v <= 0) all_pos = 0;
        }
        P->n_distinct = distinct;
        P->min = any ? mn : NAN;
        P->max = any ? mx : NAN;
        P->is_int = any && all_int;
        if (P->log_from_space) {
            if (P->log_scale && any && !all_pos) P->log_scale = 0; /* a log axis cannot show <= 0 */
        } else {
            P->log_scale = any && all_pos && mx / mn >= 10.0 && !P->is_seed;
        }
    }
}

double mrpc_runset_unit(const mrpc_runset *s, size_t p, double v) {
    const mrpc_runset_param *P = &s->params[p];
    if (!isfinite(v)) return NAN;
    double lo = P->min, hi = P->max;
    if (!isfinite(lo) || !isfinite(hi) || hi <= lo) return 0.5;
    if (P->log_scale) {
        if (v <= 0) return NAN;
        return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
    }
    return (v - lo) / (hi - lo);
}

/* ---- order ------------------------------------------------------------------------------ */

static int cmp_run(const void *pa, const void *pb) {
    const mrpc_runset_run *a = pa, *b = pb;
    int ra = mrpc_runset_stage_rank(a->stage), rb = mrpc_runset_stage_rank(b->stage);
    if (ra != rb) return ra - rb;
    int c = strcmp(a->stage, b->stage);
    if (c) return c;
    int wa = a->wave >= 0, wb = b->wave >= 0;
    if (wa != wb) return wb - wa;
    if (a->wave != b->wave) return a->wave - b->wave;
    if (a->task != b->task) return a->task < b->task ? -1 : 1;
    c = strcmp(a->rec.start_time, b->rec.start_time);
    if (c) return c;
    return strcmp(a->run_id, b->run_id);
}

/* ---- entry points ----------------------------------------------------------------------- */

static int is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Copies the directory part of `path` into dst ("." when there is none). */
static void dir_name(char *dst, size_t size, const char *path) {
    mrpc_str_copy(dst, size, path);
    char *slash = strrchr(dst, '/');
    if (!slash) mrpc_str_copy(dst, size, ".");
    else if (slash == dst) dst[1] = '\0';
    else *slash = '\0';
}

mrpc_status mrpc_runset_load(const char *path, const char *objective, mrpc_runset *s, mrpc_error *err) {
    memset(s, 0, sizeof *s);
    if (objective && strcmp(objective, "accuracy") != 0 && strcmp(objective, "f1") != 0)
        return mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "--objective",
                              "unknown objective \"%s\" (expected accuracy or f1)", objective);
    mrpc_str_copy(s->objective, sizeof s->objective, objective ? objective : "accuracy");
    char study_file[MRPC_RUNSET_PATH_MAX + 32];
    if (strlen(path) >= MRPC_RUNSET_PATH_MAX) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    if (is_file(path)) {
        /* PATH is the study file itself. */
        mrpc_str_copy(study_file, sizeof study_file, path);
        dir_name(s->root, sizeof s->root, path);
    } else if (is_dir(path)) {
        mrpc_str_copy(s->root, sizeof s->root, path);
        size_t rl = strlen(s->root);
        while (rl > 1 && s->root[rl - 1] == '/') s->root[--rl] = '\0';
        char runs[MRPC_RUNSET_PATH_MAX + 32], parent[MRPC_RUNSET_PATH_MAX], a[MRPC_RUNSET_PATH_MAX + 32],
            b[MRPC_RUNSET_PATH_MAX + 32];
        snprintf(runs, sizeof runs, "%s/runs", s->root);
        snprintf(a, sizeof a, "%s/study.yaml", s->root);
        if (!is_dir(runs) && !mrpc_path_exists(a) && strcmp(base_name(s->root), "runs") == 0) {
            /* PATH is the records directory of a study: the study is its parent. */
            dir_name(parent, sizeof parent, s->root);
            snprintf(a, sizeof a, "%s/study.yaml", parent);
            snprintf(b, sizeof b, "%s/waves", parent);
            if (mrpc_path_exists(a) || is_dir(b)) mrpc_str_copy(s->root, sizeof s->root, parent);
        }
        snprintf(study_file, sizeof study_file, "%s/study.yaml", s->root);
    } else {
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL,
                              "no such directory (expected a study directory, its study file or a directory of run records)");
    }
    char runs_key[256];
    read_study_file(s, study_file, objective != NULL, runs_key, sizeof runs_key);
    char tmp[MRPC_RUNSET_PATH_MAX + 300];
    if (runs_key[0]) {
        if (runs_key[0] == '/') mrpc_str_copy(tmp, sizeof tmp, runs_key);
        else snprintf(tmp, sizeof tmp, "%s/%s", s->root, runs_key);
    } else {
        snprintf(tmp, sizeof tmp, "%s/runs", s->root);
    }
    if (is_dir(tmp)) {
        if (!mrpc_str_copy(s->runs_dir, sizeof s->runs_dir, tmp))
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
    } else if (is_dir(path)) {
        mrpc_str_copy(s->runs_dir, sizeof s->runs_dir, path);
    } else {
        mrpc_str_copy(s->runs_dir, sizeof s->runs_dir, s->root);
    }
    snprintf(tmp, sizeof tmp, "%s/sensitivity.yaml", s->root);
    s->has_sensitivity_yaml = mrpc_path_exists(tmp);

    size_t cap = 0;
    mrpc_status st = load_records(s, &cap, err);
    if (st == MRPC_OK) st = drop_copies(s, err);
    if (st == MRPC_OK) st = load_waves(s, &cap, err);
    if (st != MRPC_OK) {
        mrpc_runset_free(s);
        return st;
    }
    if (s->n_runs == 0) {
        char s_runs_dir[MRPC_RUNSET_PATH_MAX];
        mrpc_str_copy(s_runs_dir, sizeof s_runs_dir, s->runs_dir);
        mrpc_runset_free(s);
        return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL,
                              "no run records (*.h5) in %s and no wave tasks under waves/", s_runs_dir);
    }

    for (size_t i = 0; i < s->n_runs; i++)
        for (size_t h = 0; h < s->runs[i].rec.n_hparams; h++)
            if (add_param(s, s->runs[i].rec.hparams[h].name) < 0) {
                warn(s, "more than %d hyperparameter names; %s and later ones are left out", MRPC_RUNSET_MAX_PARAMS,
                     s->runs[i].rec.hparams[h].name);
                i = s->n_runs - 1;
                break;
            }
    for (size_t i = 0; i < s->n_runs; i++) {
        mrpc_runset_run *r = &s->runs[i];
        r->x = malloc((s->n_params ? s->n_params : 1) * sizeof *r->x);
        if (!r->x) {
            mrpc_runset_free(s);
            return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        }
        for (size_t p = 0; p < s->n_params; p++) r->x[p] = NAN;
        for (size_t h = 0; h < r->rec.n_hparams; h++) {
            int p = mrpc_runset_find_param(s, r->rec.hparams[h].name);
            if (p >= 0) r->x[p] = mrpc_hparam_as_double(&r->rec.hparams[h]);
        }
    }
    qsort(s->runs, s->n_runs, sizeof *s->runs, cmp_run);
    param_stats(s);
    return MRPC_OK;
}

void mrpc_runset_free(mrpc_runset *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_runs; i++) {
        mrpc_runrec_clear(&s->runs[i].rec);
        free(s->runs[i].x);
    }
    free(s->runs);
    memset(s, 0, sizeof *s);
}

size_t mrpc_runset_count(const mrpc_runset *s, mrpc_runset_state state) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_runs; i++) n += s->runs[i].state == state;
    return n;
}

int mrpc_runset_find_param(const mrpc_runset *s, const char *name) {
    for (size_t p = 0; p < s->n_params; p++)
        if (strcmp(s->params[p].name, name) == 0) return (int)p;
    return -1;
}

void mrpc_runset_format_value(const mrpc_runset *s, size_t p, double v, char *buf, size_t size) {
    if (!isfinite(v)) snprintf(buf, size, "-");
    else if (s->params[p].is_int && fabs(v) < 1e15) snprintf(buf, size, "%.0f", v);
    else snprintf(buf, size, "%.4g", v);
}
