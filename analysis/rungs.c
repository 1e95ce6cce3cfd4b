/* rungs.c — accuracy per epoch of every run, promoted vs stopped (see rungs.h). */
#define _DEFAULT_SOURCE /* DT_DIR */
#include "rungs.h"

#include <dirent.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "plots.h"
#include "strutil.h"

#define RUNGS_MAX_COLS (MRPC_RUNREC_MAX_HPARAMS + 8)
#define RUNGS_TABLE_EPOCHS 40

const char *mrpc_rung_class_str(mrpc_rung_class c) {
    static const char *const names[] = {"full", "promoted", "stopped", "failed"};
    return c >= 0 && c < MRPC_RUNG_CLASS_COUNT ? names[c] : "unknown";
}

/* The listings of one run id in the waves, in wave order within its stage. */
typedef struct listing {
    char    run_id[160];
    int     n;
    int64_t first, last;
    int     promoted;
} listing;

typedef struct listings {
    size_t   n, cap;
    listing *l;
    int      fidelity;
    int      failed;   /* out of memory */
} listings;

static void note_listing(listings *L, const char *run_id, int64_t pause) {
    for (size_t i = 0; i < L->n; i++) {
        listing *x = &L->l[i];
        if (strcmp(x->run_id, run_id) != 0) continue;
        /* A later listing that goes further than the last one is a promotion; the same value is a retry. */
        if (x->last > 0 && (pause == 0 || pause > x->last)) x->promoted = 1;
        x->last = pause;
        x->n++;
        return;
    }
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 64;
        listing *p = realloc(L->l, cap * sizeof *p);
        if (!p) { L->failed = 1; return; }
        L->l = p;
        L->cap = cap;
    }
    listing *x = &L->l[L->n++];
    memset(x, 0, sizeof *x);
    mrpc_str_copy(x->run_id, sizeof x->run_id, run_id);
    x->n = 1;
    x->first = x->last = pause;
}

static void read_tasks(listings *L, const char *path) {
    char *text = NULL;
    size_t size = 0;
    if (mrpc_file_read_all(path, 64u << 20, &text, &size, NULL) != MRPC_OK) return;
    char *header[RUNGS_MAX_COLS];
    size_t n_cols = 0;
    int col_run = -1, col_pause = -1;
    for (char *line = text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (!len || line[0] == '#') continue;
        if (!n_cols) {
            n_cols = mrpc_split_tabs(line, header, RUNGS_MAX_COLS);
            for (size_t c = 0; c < n_cols; c++) {
                if (!strcmp(header[c], "run_id")) col_run = (int)c;
                if (!strcmp(header[c], "pause_after_epoch")) col_pause = (int)c;
            }
            if (col_run < 0) break;
            continue;
        }
        char *f[RUNGS_MAX_COLS];
        if (mrpc_split_tabs(line, f, RUNGS_MAX_COLS) != n_cols) continue;
        int64_t pause = 0;
        if (col_pause >= 0 && (!mrpc_parse_i64(f[col_pause], &pause) || pause < 0)) pause = 0;
        if (pause > 0) L->fidelity = 1;
        note_listing(L, f[col_run], pause);
    }
    free(text);
}

static int cmp_name(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y); /* "99" before "100" */
}

/* Names of the entries of dir (subdirectories only), sorted; NULL when none. */
static char **subdirs(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) break;
            names = p;
        }
        char *copy = strdup(e->d_name);
        if (!copy) break;
        names[(*n)++] = copy;
    }
    closedir(d);
    if (names) qsort(names, *n, sizeof *names, cmp_name);
    return names;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static void read_waves(listings *L, const char *root) {
    char waves[MRPC_RUNSET_PATH_MAX + 16];
    snprintf(waves, sizeof waves, "%s/waves", root);
    size_t ns = 0;
    char **stages = subdirs(waves, &ns);
    for (size_t i = 0; i < ns; i++) {
        char sdir[2 * MRPC_RUNSET_PATH_MAX];
        snprintf(sdir, sizeof sdir, "%s/%s", waves, stages[i]);
        size_t nw = 0;
        char **nums = subdirs(sdir, &nw);
        for (size_t k = 0; k < nw; k++) {
            int64_t v;
            if (!mrpc_parse_i64(nums[k], &v)) continue;
            char path[3 * MRPC_RUNSET_PATH_MAX];
            snprintf(path, sizeof path, "%s/%s/tasks.tsv", sdir, nums[k]);
            read_tasks(L, path);
        }
        free_names(nums, nw);
    }
    free_names(stages, ns);
}

mrpc_status mrpc_rungs_compute(const mrpc_runset *s, mrpc_rungs *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    listings L = {0};
    read_waves(&L, s->root);
    if (L.failed) {
        free(L.l);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, s->root, 0, 0, NULL, "out of memory reading the waves");
    }
    out->fidelity = L.fidelity;
    out->runs = s->n_runs ? calloc(s->n_runs, sizeof *out->runs) : NULL;
    if (s->n_runs && !out->runs) {
        free(L.l);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, s->root, 0, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (!r->has_record || r->rec.n_eval == 0) continue;
        mrpc_rungs_run *g = &out->runs[out->n++];
        g->run = i;
        g->n = r->rec.n_eval;
        for (size_t j = 0; j < L.n; j++) {
            if (strcmp(L.l[j].run_id, r->run_id) != 0) continue;
            g->listings = L.l[j].n;
            g->first_pause = L.l[j].first;
            g->last_pause = L.l[j].last;
            if (L.l[j].promoted) g->cls = MRPC_RUNG_PROMOTED;
            break;
        }
        if (r->state == MRPC_RUNSET_PAUSED) {
            if (g->cls != MRPC_RUNG_PROMOTED) g->cls = MRPC_RUNG_STOPPED;
        } else if (r->state != MRPC_RUNSET_COMPLETED && r->state != MRPC_RUNSET_RUNNING) {
            g->cls = MRPC_RUNG_FAILED;
        } else if (g->cls != MRPC_RUNG_PROMOTED) {
            g->cls = MRPC_RUNG_FULL;
        }
        out->count[g->cls]++;
        for (size_t e = 0; e < r->rec.n_eval; e++)
            if (r->rec.eval_epoch[e] > out->max_epoch) out->max_epoch = r->rec.eval_epoch[e];
    }
    free(L.l);
    return MRPC_OK;
}

void mrpc_rungs_free(mrpc_rungs *g) {
    if (!g) return;
    free(g->runs);
    memset(g, 0, sizeof *g);
}

static const double *curve_of(const mrpc_runset *s, const mrpc_runset_run *r) {
    return strcmp(s->objective, "f1") == 0 ? r->rec.eval_f1 : r->rec.eval_accuracy;
}

static void describe(const mrpc_rungs_run *g, const mrpc_runset_run *r, char *buf, size_t size) {
    int64_t last = g->n ? r->rec.eval_epoch[g->n - 1] : 0;
    switch (g->cls) {
    case MRPC_RUNG_STOPPED: snprintf(buf, size, "stopped after epoch %lld", (long long)last); break;
    case MRPC_RUNG_PROMOTED:
        if (r->state == MRPC_RUNSET_PAUSED) {
            snprintf(buf, size, "promoted from epoch %lld, paused after epoch %lld", (long long)g->first_pause, (long long)last);
        } else {
            snprintf(buf, size, "promoted from epoch %lld to epoch %lld", (long long)g->first_pause, (long long)last);
        }
        break;
    case MRPC_RUNG_FAILED: snprintf(buf, size, "%s after epoch %lld", mrpc_runset_state_str(r->state), (long long)last); break;
    default: snprintf(buf, size, "%s", r->state == MRPC_RUNSET_RUNNING ? "running" : "full run"); break;
    }
}

void mrpc_rungs_table(const mrpc_runset *s, mrpc_table *t) {
    mrpc_table_init(t, "rungs", "Rungs: the objective after every epoch, promoted and stopped runs");
    mrpc_rungs g;
    mrpc_error err = {0};
    if (mrpc_rungs_compute(s, &g, &err) != MRPC_OK) {
        t->failed = 1;
        return;
    }
    snprintf(t->note, sizeof t->note,
             "%s per epoch (points) of every run with an evaluation: %zu full runs, %zu promoted (paused at a rung and "
             "continued by a later wave), %zu stopped (paused at a rung and never promoted: the partial curve is all "
             "there is), %zu failed.%s",
             s->objective, g.count[MRPC_RUNG_FULL], g.count[MRPC_RUNG_PROMOTED], g.count[MRPC_RUNG_STOPPED],
             g.count[MRPC_RUNG_FAILED], g.fidelity ? "" : " No stage used successive halving (no pause_after_epoch).");
    mrpc_table_add_col(t, "run_id", 0);
    mrpc_table_add_col(t, "stage", 0);
    mrpc_table_add_col(t, "rung", 0);
    mrpc_table_add_col(t, "what happened", 0);
    mrpc_table_add_col(t, "epochs", 1);
    int64_t ne = g.max_epoch < RUNGS_TABLE_EPOCHS ? g.max_epoch : RUNGS_TABLE_EPOCHS;
    int ecol[RUNGS_TABLE_EPOCHS + 1];
    for (int64_t e = 1; e <= ne; e++) {
        char h[32];
        snprintf(h, sizeof h, "epoch %lld", (long long)e);
        ecol[e] = mrpc_table_add_col(t, h, 1);
    }
    for (size_t i = 0; i < g.n; i++) {
        const mrpc_rungs_run *q = &g.runs[i];
        const mrpc_runset_run *r = &s->runs[q->run];
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) break;
        char what[160];
        describe(q, r, what, sizeof what);
        mrpc_table_set(t, row, 0, r->run_id, NULL);
        mrpc_table_set(t, row, 1, r->stage, NULL);
        mrpc_table_set(t, row, 2, mrpc_rung_class_str(q->cls), NULL);
        mrpc_table_set(t, row, 3, what, NULL);
        mrpc_table_set_i64(t, row, 4, (long long)q->n);
        if (q->cls == MRPC_RUNG_STOPPED || q->cls == MRPC_RUNG_FAILED) mrpc_table_set_row_class(t, row, "bad");
        const double *y = curve_of(s, r);
        for (size_t e = 0; y && e < q->n; e++) {
            int64_t ep = r->rec.eval_epoch[e];
            if (ep >= 1 && ep <= ne) mrpc_table_set_f64(t, row, ecol[ep], y[e], 100, 2, 0);
        }
    }
    mrpc_rungs_free(&g);
}

/* ---- figure ---------------------------------------------------------------------------- */

typedef struct rungs_fig {
    const mrpc_analysis *a;
    mrpc_rungs           g;
    double               lo, hi;
} rungs_fig;

/* One run's curve; `mark` (a PLplot symbol, 0 = none) at its last evaluation. */
static void draw_run(const mrpc_runset *s, const mrpc_runset_run *r, size_t n, int mark) {
    PLFLT x[RUNGS_TABLE_EPOCHS * 8], y[RUNGS_TABLE_EPOCHS * 8];
    const double *v = curve_of(s, r);
    size_t k = 0;
    for (size_t e = 0; v && e < n && k < sizeof x / sizeof x[0]; e++) {
        if (!isfinite(v[e])) continue;
        x[k] = (double)r->rec.eval_epoch[e];
        y[k] = 100 * v[e];
        k++;
    }
    if (k >= 2) plline((PLINT)k, x, y);
    if (k >= 1 && mark) plpoin(1, &x[k - 1], &y[k - 1], mark);
}

static void draw_rungs(void *vctx) {
    const rungs_fig *c = vctx;
    const mrpc_runset *s = c->a->study;
    pladv(0);
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plschr(0, 1.05);
    plcol0(MRPC_PLOT_BLACK);
    plptex(0.5, 0.955, 1, 0, 0.5, "Rungs: the objective after every epoch, promoted and stopped runs");
    plschr(0, 0.9);
    plvpor(0.08, 0.64, 0.12, 0.88);
    plwind(0.8, (double)c->g.max_epoch + 0.2, c->lo, c->hi);
    plcol0(MRPC_PLOT_BLACK);
    plschr(0, 0.8);
    plbox("bcgnst", 1, 0, "bcgnstv", 0, 0);
    plschr(0, 0.9);
    plmtex("b", 2.8, 0.5, 0.5, "epoch");
    char t[128];
    snprintf(t, sizeof t, "%s (points)", strcmp(s->objective, "f1") == 0 ? "F1" : "accuracy");
    plmtex("l", 4.0, 0.5, 0.5, t);
    /* Full runs first (pale), then failed, stopped and promoted runs on top. */
    static const mrpc_rung_class order[] = {MRPC_RUNG_FULL, MRPC_RUNG_FAILED, MRPC_RUNG_STOPPED, MRPC_RUNG_PROMOTED};
    static const int color[] = {MRPC_PLOT_PALE_BLUE, MRPC_PLOT_BLUE, MRPC_PLOT_GREY, MRPC_PLOT_RED};
    static const int style[] = {1, 1, 2, 3};
    static const double width[] = {1.2, 2.5, 1.5, 1.2};
    static const char *const label[] = {"full run", "promoted", "stopped (never promoted)", "failed"};
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
        mrpc_rung_class cls = order[o];
        plcol0(color[cls]);
        pllsty(style[cls]);
        plwidth(width[cls]);
        for (size_t i = 0; i < c->g.n; i++)
            if (c->g.runs[i].cls == cls)
                draw_run(s, &s->runs[c->g.runs[i].run], c->g.runs[i].n, cls == MRPC_RUNG_STOPPED ? 5 : 0);
    }
    pllsty(1);
    plwidth(1);
    mrpc_plot_legend_entry leg[MRPC_RUNG_CLASS_COUNT];
    char lb[MRPC_RUNG_CLASS_COUNT][96];
    size_t nl = 0;
    for (int k = 0; k < MRPC_RUNG_CLASS_COUNT; k++) {
        if (!c->g.count[k]) continue;
        snprintf(lb[nl], sizeof lb[nl], "%s (%zu)", label[k], c->g.count[k]);
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = color[k], .style = style[k], .width = width[k]};
        nl++;
    }
    plschr(0, 0.75);
    mrpc_plot_legend(0.66, 0.86, leg, nl, 1);
    plschr(0, 0.9);
}

mrpc_status mrpc_rungs_figure(const mrpc_analysis *a, const char *dir, mrpc_figure *f, mrpc_error *err) {
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "rungs");
    snprintf(f->title, sizeof f->title, "Rungs: the objective after every epoch, promoted and stopped runs");
    rungs_fig c = {.a = a};
    mrpc_status st = mrpc_rungs_compute(a->study, &c.g, err);
    if (st != MRPC_OK) return st;
    c.lo = INFINITY;
    c.hi = -INFINITY;
    for (size_t i = 0; i < c.g.n; i++) {
        const mrpc_runset_run *r = &a->study->runs[c.g.runs[i].run];
        const double *v = curve_of(a->study, r);
        for (size_t e = 0; v && e < c.g.runs[i].n; e++) {
            if (!isfinite(v[e])) continue;
            c.lo = fmin(c.lo, 100 * v[e]);
            c.hi = fmax(c.hi, 100 * v[e]);
        }
    }
    if (c.g.n == 0 || !isfinite(c.lo) || c.g.max_epoch < 1) {
        snprintf(f->skipped, sizeof f->skipped, "no run has a per-epoch evaluation");
        mrpc_rungs_free(&c.g);
        return MRPC_OK;
    }
    double pad = fmax(0.5, 0.06 * (c.hi - c.lo));
    c.lo -= pad;
    c.hi += pad;
    f->width = 1100;
    f->height = 560;
    snprintf(f->caption, sizeof f->caption,
             "The %s of every run after each epoch (its record's /eval series): %zu full runs (pale blue), %zu promoted "
             "at a rung by successive halving and continued from their checkpoint (blue), %zu stopped at a rung and "
             "never promoted (grey dashed; a cross marks where each stopped), %zu failed (red dotted).%s",
             a->study->objective, c.g.count[MRPC_RUNG_FULL], c.g.count[MRPC_RUNG_PROMOTED], c.g.count[MRPC_RUNG_STOPPED],
             c.g.count[MRPC_RUNG_FAILED], c.g.fidelity ? "" : " No stage of this study used successive halving.");
    st = mrpc_plot_write(dir, f->name, f->width, f->height, draw_rungs, &c, err);
    if (st == MRPC_OK) f->written = 1;
    mrpc_rungs_free(&c.g);
    return st;
}
