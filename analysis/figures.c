/* figures.c — the report's five figures drawn with PLplot (see figures.h). */
#include "figures.h"

#include <math.h>
#include <plplot.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots.h"
#include "rungs.h"
#include "strutil.h"

#define TEXT_MAX 512

/* Escaped copy of printf text for PLplot. */
static void ptext(char *dst, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void ptext(char *dst, size_t size, const char *fmt, ...) {
    char raw[TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    mrpc_plot_text(dst, size, raw);
}

static void page_title(const char *title) {
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plschr(0, 1.05);
    plcol0(MRPC_PLOT_BLACK);
    char t[TEXT_MAX];
    mrpc_plot_text(t, sizeof t, title);
    plptex(0.5, 0.955, 1, 0, 0.5, t);
    plschr(0, 0.9);
}

static const char *objective_label(const mrpc_runset *s) { return strcmp(s->objective, "f1") == 0 ? "F1" : "accuracy"; }

/* ---- parallel coordinates ------------------------------------------------------------- */

typedef struct pc_ctx {
    const mrpc_analysis *a;
    size_t               n_axes; /* parameter axes; the objective axis comes after them */
    size_t               axes[MRPC_RUNSET_MAX_PARAMS];
    double               lo[MRPC_RUNSET_MAX_PARAMS], hi[MRPC_RUNSET_MAX_PARAMS]; /* axis ranges over every drawn run */
    int                  log_axis[MRPC_RUNSET_MAX_PARAMS];
    double               omin, omax;
    size_t               n_bad; /* failed and diverged runs drawn grey */
} pc_ctx;

/* Runs drawn in the parallel-coordinates plot: usable ones, and failed/diverged records. */
static int pc_drawn(const mrpc_runset_run *r) {
    return r->usable || (r->has_record && (r->state == MRPC_RUNSET_FAILED || r->state == MRPC_RUNSET_DIVERGED));
}

/* Position of v on axis q in [0, 1]. */
static double pc_unit(const pc_ctx *c, size_t q, double v) {
    if (!isfinite(v)) return NAN;
    double lo = c->lo[q], hi = c->hi[q];
    if (!(hi > lo)) return 0.5;
    if (c->log_axis[q]) return v > 0 ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : NAN;
    return (v - lo) / (hi - lo);
}

static int cmp_obj_idx(const void *pa, const void *pb, const mrpc_runset *s) {
    double a = s->runs[*(const size_t *)pa].objective, b = s->runs[*(const size_t *)pb].objective;
    return (a > b) - (a < b);
}

/* Distinct finite values of parameter p among the drawn runs, sorted; returns the count (cap + 1 when more). */
static size_t distinct_values(const mrpc_runset *s, size_t p, double *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (!pc_drawn(r)) continue;
        double v = r->x[p];
        if (!isfinite(v)) continue;
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++) seen = fabs(out[k] - v) <= 1e-9 * fmax(fabs(v), fabs(out[k]));
        if (seen) continue;
        if (n == cap) return cap + 1;
        out[n++] = v;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j] < out[j - 1]; j--) {
            double t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static void draw_polyline(const pc_ctx *c, const mrpc_runset_run *r, int with_objective) {
    size_t m = c->n_axes + (with_objective ? 1 : 0);
    PLFLT xs[MRPC_RUNSET_MAX_PARAMS + 1], ys[MRPC_RUNSET_MAX_PARAMS + 1];
    size_t k = 0;
    for (size_t q = 0; q <= m; q++) {
        double u = NAN;
        if (q < c->n_axes) u = pc_unit(c, q, r->x[c->axes[q]]);
        else if (q < m) u = c->omax > c->omin ? (r->objective - c->omin) / (c->omax - c->omin) : 0.5;
        if (q < m && isfinite(u)) {
            xs[k] = (double)q;
            ys[k] = u < 0 ? 0 : (u > 1 ? 1 : u);
            k++;
        } else {
            if (k >= 2) plline((PLINT)k, xs, ys);
            k = 0;
        }
    }
}

static void draw_parallel(void *vctx) {
    const pc_ctx *c = vctx;
    const mrpc_analysis *a = c->a;
    const mrpc_runset *s = a->study;
    char t[TEXT_MAX];
    size_t m = c->n_axes + 1;
    pladv(0);
    char title[TEXT_MAX];
    snprintf(title, sizeof title, "All runs: hyperparameters and %s", objective_label(s));
    page_title(title);

    const double xmin = -0.5, xmax = (double)(m - 1) + 0.08;
    plvpor(0.04, 0.87, 0.17, 0.84);
    plwind(xmin, xmax, -0.03, 1.03);
    /* Failed and diverged runs first, underneath. */
    plcol0(MRPC_PLOT_GREY);
    pllsty(2);
    plwidth(1.2);
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (pc_drawn(r) && !r->usable) draw_polyline(c, r, 0);
    }
    pllsty(1);
    /* Usable runs from worst to best, so the best lie on top. */
    size_t *order = malloc((a->n_usable ? a->n_usable : 1) * sizeof *order);
    if (order) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_runs; i++)
            if (s->runs[i].usable) order[n++] = i;
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cmp_obj_idx(&order[j - 1], &order[j], s) > 0; j--) {
                size_t tmp = order[j];
                order[j] = order[j - 1];
                order[j - 1] = tmp;
            }
        for (size_t k = 0; k < n; k++) {
            const mrpc_runset_run *r = &s->runs[order[k]];
            double u = c->omax > c->omin ? (r->objective - c->omin) / (c->omax - c->omin) : 1.0;
            plcol1(u);
            plwidth((int)order[k] == a->best ? 4.5 : 1.6);
            draw_polyline(c, r, 1);
        }
        free(order);
    }
    plwidth(1);
    /* Axes with tick labels (left of each axis) and names (below, alternating rows when crowded). */
    for (size_t q = 0; q < m; q++) {
        plcol0(MRPC_PLOT_BLACK);
        plwidth(1.5);
        PLFLT ax[2] = {(double)q, (double)q}, ay[2] = {0, 1};
        plline(2, ax, ay);
        plwidth(1);
        plschr(0, 0.72);
        const char *name;
        if (q < c->n_axes) {
            size_t p = c->axes[q];
            name = s->params[p].name;
            double vals[8];
            size_t nv = distinct_values(s, p, vals, 6);
            if (nv > 6) nv = mrpc_plot_nice_ticks(c->lo[q], c->hi[q], c->log_axis[q], vals, 8);
            for (size_t k = 0; k < nv; k++) {
                char v[48];
                mrpc_runset_format_value(s, p, vals[k], v, sizeof v);
                double u = pc_unit(c, q, vals[k]);
                PLFLT tx[2] = {(double)q - 0.025, (double)q}, ty[2] = {u, u};
                plline(2, tx, ty);
                mrpc_plot_text(t, sizeof t, v);
                plptex((double)q - 0.04, u, 1, 0, 1.0, t);
            }
        } else {
            name = objective_label(s);
            for (int k = 0; k <= 4; k++) {
                double u = k / 4.0, v = c->omin + u * (c->omax - c->omin);
                PLFLT tx[2] = {(double)q - 0.025, (double)q}, ty[2] = {u, u};
                plline(2, tx, ty);
                ptext(t, sizeof t, "%.1f", 100 * v);
                plptex((double)q - 0.04, u, 1, 0, 1.0, t);
                if (c->omax <= c->omin) break;
            }
        }
        plschr(0, 0.85);
        ptext(t, sizeof t, "%s%s", name, q < c->n_axes && c->log_axis[q] ? " (log)" : "");
        double disp = (m > 6 && q % 2) ? 2.9 : 1.3;
        plmtex("b", disp, ((double)q - xmin) / (xmax - xmin), 0.5, t);
    }
    plschr(0, 0.75);
    mrpc_plot_legend_entry leg[3];
    char l0[160];
    size_t nl = 0;
    snprintf(l0, sizeof l0, "%zu usable runs, darker = higher %s", a->n_usable, objective_label(s));
    leg[nl++] = (mrpc_plot_legend_entry){.label = l0, .color = MRPC_PLOT_MAP_MID, .style = 1, .width = 1.6};
    leg[nl++] = (mrpc_plot_legend_entry){.label = "best run", .color = MRPC_PLOT_MAP_TOP, .style = 1, .width = 4.5};
    char l2[96];
    if (c->n_bad) {
        snprintf(l2, sizeof l2, "%zu failed or diverged run%s (no %s)", c->n_bad, c->n_bad == 1 ? "" : "s",
                 objective_label(s));
        leg[nl++] = (mrpc_plot_legend_entry){.label = l2, .color = MRPC_PLOT_GREY, .style = 2, .width = 1.2};
    }
    mrpc_plot_legend(0.04, 0.925, leg, nl, nl);
    plschr(0, 0.85);
    ptext(t, sizeof t, "%s (points)", objective_label(s));
    mrpc_plot_colorbar(0.905, 0.922, 0.17, 0.84, 100 * c->omin, 100 * c->omax, t);
}

static void fig_parallel(const mrpc_analysis *a, mrpc_figure *f, pc_ctx *c) {
    const mrpc_runset *s = a->study;
    snprintf(f->name, sizeof f->name, "parallel_coordinates");
    snprintf(f->title, sizeof f->title, "Parallel coordinates of all runs");
    memset(c, 0, sizeof *c);
    c->a = a;
    for (size_t k = 0; k < a->n_imp; k++) c->axes[c->n_axes++] = a->imp_param[k];
    for (size_t i = 0; i < s->n_runs; i++) c->n_bad += pc_drawn(&s->runs[i]) && !s->runs[i].usable;
    for (size_t q = 0; q < c->n_axes; q++) {
        size_t p = c->axes[q];
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < s->n_runs; i++) {
            double v = s->runs[i].x[p];
            if (!pc_drawn(&s->runs[i]) || !isfinite(v)) continue;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        c->lo[q] = lo;
        c->hi[q] = hi;
        c->log_axis[q] = s->params[p].log_scale && lo > 0;
    }
    c->omin = INFINITY;
    c->omax = -INFINITY;
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].usable) {
            c->omin = fmin(c->omin, s->runs[i].objective);
            c->omax = fmax(c->omax, s->runs[i].objective);
        }
    if (a->n_usable < 2 || c->n_axes == 0) {
        snprintf(f->skipped, sizeof f->skipped, "needs at least two usable runs and a parameter that varies");
        return;
    }
    f->width = c->n_axes > 6 ? 1500 : 1300;
    f->height = 640;
    size_t n_log = 0;
    for (size_t k = 0; k < c->n_axes; k++) n_log += c->log_axis[k];
    snprintf(f->caption, sizeof f->caption,
             "One line per usable run across the hyperparameters that vary and the %s (right axis), coloured by the %s "
             "(dark = better); the thick line is the best run. %zu of %zu parameter axes are logarithmic%s. Failed and "
             "diverged runs are drawn as grey dashed lines over the parameter axes only.",
             s->objective, s->objective, n_log, c->n_axes,
             s->has_study_yaml ? " (from study.yaml where it says so, else when the values span a factor of 10 or more)"
                               : " (values spanning a factor of 10 or more; no study.yaml was found)");
}

/* ---- training curves ------------------------------------------------------------------ */

typedef struct curves_ctx {
    const mrpc_analysis *a;
    const mrpc_runset_run *runs[2]; /* best, baseline (may be NULL) */
    int                   colors[2], pale[2];
} curves_ctx;

/* Moving average of width w (centred, shrinking at the ends). */
static void smooth(const double *y, size_t n, size_t w, double *out) {
    for (size_t i = 0; i < n; i++) {
        size_t lo = i >= w / 2 ? i - w / 2 : 0, hi = i + w / 2 < n ? i + w / 2 : n - 1;
        double s = 0;
        size_t k = 0;
        for (size_t j = lo; j <= hi; j++)
            if (isfinite(y[j])) {
                s += y[j];
                k++;
            }
        out[i] = k ? s / (double)k : NAN;
    }
}

static void plot_series(const int64_t *xs_i, const double *ys, size_t n, double scale) {
    PLFLT *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && isfinite(ys[i])) {
            x[k] = (double)xs_i[i];
            y[k] = scale * ys[i];
            k++;
        } else {
            if (k >= 2) plline((PLINT)k, x, y);
            else if (k == 1) plpoin(1, x, y, 17);
            k = 0;
        }
    }
    free(x);
    free(y);
}

static void range_of(const double *y, size_t n, double scale, double *lo, double *hi) {
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            *lo = fmin(*lo, scale * y[i]);
            *hi = fmax(*hi, scale * y[i]);
        }
}

static void pad_range(double *lo, double *hi, double frac) {
    if (!isfinite(*lo) || !isfinite(*hi)) {
        *lo = 0;
        *hi = 1;
    }
    double span = *hi - *lo;
    /* A range that is zero up to rounding (every run scored the same) would make PLplot
     * draw millions of tick and grid lines: treat it as a point. */
    double scale = fmax(1.0, fmax(fabs(*lo), fabs(*hi)));
    if (!(span > 1e-9 * scale)) span = fabs(*hi) > 0 ? fabs(*hi) * 0.1 : 1;
    *lo -= frac * span;
    *hi += frac * span;
}

static void panel(double x0, double x1, double xmin, double xmax, double ymin, double ymax, const char *xl,
                  const char *yl, const char *title) {
    plvpor(x0, x1, 0.14, 0.75);
    plwind(xmin, xmax, ymin, ymax);
    plcol0(MRPC_PLOT_BLACK);
    plschr(0, 0.8);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    plschr(0, 0.9);
    char a[TEXT_MAX], b[TEXT_MAX], c[TEXT_MAX];
    mrpc_plot_text(a, sizeof a, xl);
    mrpc_plot_text(b, sizeof b, yl);
    mrpc_plot_text(c, sizeof c, title);
    plmtex("b", 2.8, 0.5, 0.5, a);
    plmtex("l", 4.2, 0.5, 0.5, b);
    plmtex("t", 1.0, 0.5, 0.5, c);
}

static void draw_curves(void *vctx) {
    const curves_ctx *c = vctx;
    const mrpc_runset *s = c->a->study;
    pladv(0);
    page_title("Training curves: best run and baseline");
    /* Panel 1: loss per step. */
    double xmax = 1, lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const mrpc_runset_run *r = c->runs[k];
        if (!r || !r->rec.n_train) continue;
        xmax = fmax(xmax, (double)r->rec.train_step[r->rec.n_train - 1]);
        range_of(r->rec.train_loss, r->rec.n_train, 1, &lo, &hi);
    }
    pad_range(&lo, &hi, 0.05);
    if (lo < 0 && hi > 0) lo = fmax(lo, 0);
    panel(0.06, 0.32, 0, xmax, lo, hi, "optimizer step", "training loss", "Loss per step (thin: raw, thick: smoothed)");
    for (int k = 0; k < 2; k++) {
        const mrpc_runset_run *r = c->runs[k];
        if (!r || !r->rec.n_train) continue;
        size_t n = r->rec.n_train;
        plcol0(c->pale[k]);
        plwidth(1);
        plot_series(r->rec.train_step, r->rec.train_loss, n, 1);
        double *sm = malloc(n * sizeof *sm);
        if (sm) {
            smooth(r->rec.train_loss, n, n / 40 + 1, sm);
            plcol0(c->colors[k]);
            plwidth(2.5);
            plot_series(r->rec.train_step, sm, n, 1);
            free(sm);
        }
        plwidth(1);
    }
    mrpc_plot_legend_entry leg[2];
    size_t nl = 0;
    char labels[2][256];
    for (int k = 0; k < 2; k++) {
        if (!c->runs[k]) continue;
        snprintf(labels[k], sizeof labels[k], "%s: %s (%.2f)", k == 0 ? "best" : "baseline", c->runs[k]->run_id,
                 100 * c->runs[k]->objective);
        leg[nl++] = (mrpc_plot_legend_entry){.label = labels[k], .color = c->colors[k], .style = 1, .width = 2.5};
    }
    plschr(0, 0.8);
    mrpc_plot_legend(0.06, 0.91, leg, nl, nl);
    plschr(0, 0.9);

    /* Panel 2: learning rate per step. */
    lo = INFINITY;
    hi = -INFINITY;
    for (int k = 0; k < 2; k++)
        if (c->runs[k]) range_of(c->runs[k]->rec.train_learning_rate, c->runs[k]->rec.n_train, 1e5, &lo, &hi);
    if (!isfinite(lo)) lo = 0, hi = 1;
    lo = fmin(lo, 0);
    hi = hi > 0 ? hi * 1.08 : 1;
    panel(0.39, 0.65, 0, xmax, lo, hi, "optimizer step", "learning rate (x 1e-5)", "Learning rate per step");
    for (int k = 0; k < 2; k++) {
        const mrpc_runset_run *r = c->runs[k];
        if (!r || !r->rec.n_train) continue;
        plcol0(c->colors[k]);
        plwidth(k == 0 ? 2.5 : 2.0);
        if (k == 1) pllsty(2);
        plot_series(r->rec.train_step, r->rec.train_learning_rate, r->rec.n_train, 1e5);
        pllsty(1);
        plwidth(1);
    }

    /* Panel 3: accuracy per epoch. */
    double emax = 1;
    lo = INFINITY;
    hi = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const mrpc_runset_run *r = c->runs[k];
        if (!r || !r->rec.n_eval) continue;
        for (size_t i = 0; i < r->rec.n_eval; i++) emax = fmax(emax, (double)r->rec.eval_epoch[i]);
        range_of(r->rec.eval_accuracy, r->rec.n_eval, 100, &lo, &hi);
    }
    pad_range(&lo, &hi, 0.15);
    panel(0.73, 0.98, 0.5, emax + 0.5, lo, hi, "epoch", "validation accuracy (points)", "Accuracy per epoch");
    int any_eval = 0;
    for (int k = 0; k < 2; k++) {
        const mrpc_runset_run *r = c->runs[k];
        if (!r || !r->rec.n_eval) continue;
        any_eval = 1;
        plcol0(c->colors[k]);
        plwidth(2.2);
        plot_series(r->rec.eval_epoch, r->rec.eval_accuracy, r->rec.n_eval, 100);
        for (size_t i = 0; i < r->rec.n_eval; i++) {
            if (!isfinite(r->rec.eval_accuracy[i])) continue;
            PLFLT px = (double)r->rec.eval_epoch[i], py = 100 * r->rec.eval_accuracy[i];
            plpoin(1, &px, &py, k == 0 ? 17 : 4);
        }
        plwidth(1);
    }
    if (!any_eval) {
        plcol0(MRPC_PLOT_GREY);
        plptex(0.5 * (emax + 1), 0.5 * (lo + hi), 1, 0, 0.5, "no evaluations recorded");
    }
    (void)s;
}

static void fig_curves(const mrpc_analysis *a, mrpc_figure *f, curves_ctx *c) {
    const mrpc_runset *s = a->study;
    snprintf(f->name, sizeof f->name, "training_curves");
    snprintf(f->title, sizeof f->title, "Training curves of the best run and the baseline");
    memset(c, 0, sizeof *c);
    c->a = a;
    c->colors[0] = MRPC_PLOT_BLUE;
    c->colors[1] = MRPC_PLOT_ORANGE;
    c->pale[0] = MRPC_PLOT_PALE_BLUE;
    c->pale[1] = MRPC_PLOT_PALE_ORANGE;
    if (a->best < 0) {
        snprintf(f->skipped, sizeof f->skipped, "no usable run");
        return;
    }
    c->runs[0] = &s->runs[a->best];
    if (a->baseline >= 0 && a->baseline != a->best) c->runs[1] = &s->runs[a->baseline];
    if (!c->runs[0]->rec.n_train && !c->runs[0]->rec.n_eval) {
        snprintf(f->skipped, sizeof f->skipped, "the best run's record has no training or evaluation series");
        return;
    }
    f->width = 1500;
    f->height = 520;
    snprintf(f->caption, sizeof f->caption,
             "Left: training loss per optimizer step (thin: raw, thick: moving average). Middle: learning rate used by "
             "each update. Right: validation accuracy after each epoch. Blue: best run %s%s%s.",
             c->runs[0]->run_id, c->runs[1] ? "; orange: baseline " : " (no separate baseline)",
             c->runs[1] ? c->runs[1]->run_id : "");
}

/* ---- sensitivity effects -------------------------------------------------------------- */

typedef struct sens_ctx {
    const mrpc_analysis *a;
} sens_ctx;

static void draw_sens(void *vctx) {
    const sens_ctx *c = vctx;
    const mrpc_runset *s = c->a->study;
    const mrpc_effects *z = &c->a->sens;
    char t[TEXT_MAX];
    pladv(0);
    page_title("Stage 1: effect of each parameter against the baseline");
    size_t n = z->n_params;
    double sigma = 100 * z->noise;
    double band = isfinite(sigma) ? 2.3 * sigma : 0.5;
    double dlo = -band, dhi = band;
    for (size_t k = 0; k < n; k++)
        for (size_t l = 0; l < z->params[k].n_levels; l++) {
            double d = 100 * z->params[k].levels[l].delta;
            if (!isfinite(d)) continue;
            dlo = fmin(dlo, d);
            dhi = fmax(dhi, d);
        }
    /* Room for the value labels beside the bar ends; every effect and the noise may be
     * zero (a model that always predicts the majority class): keep a 1-point window. */
    double span = dhi - dlo;
    if (!(span > 1e-9)) {
        dlo -= 0.5;
        dhi += 0.5;
        span = 1.0;
    }
    double xmin = dlo - 0.28 * span, xmax = dhi + 0.28 * span;
    double H = 170.0 + 70.0 * (double)n;
    double ymin = 0.4, ymax = (double)n + 0.6;
    double top = 1.0 - 125.0 / H;
    plvpor(0.2, 0.97, 0.1 + 40.0 / H, top);
    plwind(xmin, xmax, ymin, ymax);
    if (isfinite(sigma)) {
        mrpc_plot_rect(fmax(-2 * sigma, xmin), ymin, fmin(2 * sigma, xmax), ymax, MRPC_PLOT_BAND);
        mrpc_plot_rect(-sigma, ymin, sigma, ymax, MRPC_PLOT_BAND_INNER);
    }
    plcol0(MRPC_PLOT_BLACK);
    plschr(0, 0.8);
    plbox("bcnst", 0, 0, "bc", 0, 0);
    PLFLT zx[2] = {0, 0}, zy[2] = {ymin, ymax};
    plwidth(1.5);
    plline(2, zx, zy);
    plwidth(1);
    for (size_t k = 0; k < n; k++) {
        const mrpc_effects_param *P = &z->params[k];
        double y = (double)(n - k);
        size_t nl = P->n_levels ? P->n_levels : 1;
        double h = 0.7 / (double)nl;
        for (size_t l = 0; l < P->n_levels; l++) {
            const mrpc_effects_level *L = &P->levels[l];
            double y1 = y + 0.35 - h * (double)l, y0 = y1 - h * 0.85;
            char v[48];
            mrpc_runset_format_value(s, P->param, L->value, v, sizeof v);
            plschr(0, 0.7);
            if (isfinite(L->delta)) {
                double d = 100 * L->delta;
                int color = L->value < P->baseline_value ? MRPC_PLOT_BLUE : MRPC_PLOT_ORANGE;
                mrpc_plot_rect(fmin(0, d), y0, fmax(0, d), y1, color);
                plcol0(MRPC_PLOT_BLACK);
                ptext(t, sizeof t, " %s (%+.1f) ", v, d);
                plptex(d, 0.5 * (y0 + y1), 1, 0, d >= 0 ? 0.0 : 1.0, t);
            } else {
                plcol0(MRPC_PLOT_RED);
                ptext(t, sizeof t, " %s: %s", v, mrpc_runset_state_str(s->runs[L->run].state));
                plptex(0, 0.5 * (y0 + y1), 1, 0, 0.0, t);
            }
        }
        plcol0(MRPC_PLOT_BLACK);
        plschr(0, 0.85);
        ptext(t, sizeof t, "%s%s", s->params[P->param].name, P->chosen ? " *" : "");
        plmtex("lv", 0.8, (y - ymin) / (ymax - ymin), 1.0, t);
        plschr(0, 0.7);
        if (P->rank) {
            char bv[48];
            mrpc_runset_format_value(s, P->param, P->baseline_value, bv, sizeof bv);
            ptext(t, sizeof t, "rank %d, base %s", P->rank, bv);
            plcol0(MRPC_PLOT_GREY);
            plmtex("lv", 0.8, (y - ymin) / (ymax - ymin) - 0.8 / (ymax - ymin) * 0.45, 1.0, t);
        }
    }
    plcol0(MRPC_PLOT_BLACK);
    plschr(0, 0.9);
    ptext(t, sizeof t, "change of %s against the baseline %.2f (points)", objective_label(s), 100 * z->baseline_objective);
    plmtex("b", 2.6, 0.5, 0.5, t);
    mrpc_plot_legend_entry leg[4];
    char l3[128], l4[128];
    size_t nl = 0;
    leg[nl++] = (mrpc_plot_legend_entry){.label = "value below the baseline", .color = MRPC_PLOT_BLUE, .fill = 1};
    leg[nl++] = (mrpc_plot_legend_entry){.label = "value above the baseline", .color = MRPC_PLOT_ORANGE, .fill = 1};
    if (isfinite(sigma)) {
        snprintf(l3, sizeof l3, "±1 %s (%.2f)", z->noise_from_seeds ? "seed noise sd" : "sampling s.e.", sigma);
        snprintf(l4, sizeof l4, "±2 %s", z->noise_from_seeds ? "seed noise sd" : "sampling s.e.");
        leg[nl++] = (mrpc_plot_legend_entry){.label = l3, .color = MRPC_PLOT_BAND_INNER, .fill = 1};
        leg[nl++] = (mrpc_plot_legend_entry){.label = l4, .color = MRPC_PLOT_BAND, .fill = 1};
    }
    plschr(0, 0.75);
    mrpc_plot_legend(0.2, 1.0 - 52.0 / H, leg, nl, 2);
    plschr(0, 0.9);
}

static void fig_sens(const mrpc_analysis *a, mrpc_figure *f, sens_ctx *c) {
    const mrpc_effects *z = &a->sens;
    snprintf(f->name, sizeof f->name, "sensitivity_effects");
    snprintf(f->title, sizeof f->title, "Stage 1 effects with the noise band");
    c->a = a;
    if (!z->found || isnan(z->baseline_objective) || z->n_params == 0) {
        snprintf(f->skipped, sizeof f->skipped, "%s",
                 !z->n_stage_runs ? "no sensitivity stage" : "no usable baseline or no one-factor runs in stage 1");
        return;
    }
    f->width = 1200;
    f->height = 170 + 70 * (int)z->n_params;
    snprintf(f->caption, sizeof f->caption,
             "Each bar is one stage 1 run: the change of the %s when one parameter is moved from its baseline value "
             "(labelled value and change in points). Grey bands: +-1 and +-2 %s. Parameters in rank order; * marks "
             "the ones %s. Bars inside the darker band are indistinguishable from noise.",
             a->study->objective,
             z->noise_from_seeds ? "standard deviations of the baseline seed repeats"
                                 : "binomial sampling standard errors (there are no baseline seed repeats)",
             z->chosen_source == MRPC_EFFECTS_CHOSEN_OPTIMIZER ? "mrpc-optimize tuned (sensitivity.yaml)"
             : z->chosen_source == MRPC_EFFECTS_CHOSEN_GRID  ? "the grid stage varied"
                                                             : "in the top 3");
}

/* ---- grid heatmaps -------------------------------------------------------------------- */

#define GRID_MAX_VALUES 16

typedef struct grid_ctx {
    const mrpc_analysis *a;
    int                  stage;
    size_t               nv;
    size_t               varied[3];
    size_t               n_pairs;
    int                  pair[3][2]; /* second = -1: one-parameter strip */
    double               vmin, vmax;
} grid_ctx;

typedef struct grid_cell {
    double sum;
    size_t n_usable, n_total;
} grid_cell;

static size_t stage_values(const mrpc_analysis *a, int stage, size_t p, double *out) {
    const mrpc_runset *s = a->study;
    const mrpc_analysis_stage *g = &a->stages[stage];
    size_t n = 0;
    for (size_t i = g->first; i < g->first + g->count; i++) {
        double v = s->runs[i].x[p];
        if (!isfinite(v)) continue;
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++) seen = fabs(out[k] - v) <= 1e-9 * fmax(fabs(v), fabs(out[k]));
        if (seen) continue;
        if (n == GRID_MAX_VALUES) return n;
        out[n++] = v;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j] < out[j - 1]; j--) {
            double t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static int value_index(const double *vals, size_t n, double v) {
    for (size_t k = 0; k < n; k++)
        if (fabs(vals[k] - v) <= 1e-9 * fmax(fabs(v), fabs(vals[k]))) return (int)k;
    return -1;
}

/* Fills cells [nx * ny] for the pair (pi, pj) (pj < 0: a single row). */
static void grid_cells(const grid_ctx *c, int pi, int pj, const double *xv, size_t nx, const double *yv, size_t ny,
                       grid_cell *cells) {
    const mrpc_runset *s = c->a->study;
    const mrpc_analysis_stage *g = &c->a->stages[c->stage];
    memset(cells, 0, nx * ny * sizeof *cells);
    for (size_t i = g->first; i < g->first + g->count; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        int a = value_index(xv, nx, r->x[pi]);
        int b = pj >= 0 ? value_index(yv, ny, r->x[pj]) : 0;
        if (a < 0 || b < 0) continue;
        grid_cell *cell = &cells[(size_t)b * nx + (size_t)a];
        cell->n_total++;
        if (r->usable) {
            cell->n_usable++;
            cell->sum += r->objective;
        }
    }
}

static void draw_grid(void *vctx) {
    const grid_ctx *c = vctx;
    const mrpc_runset *s = c->a->study;
    char t[TEXT_MAX];
    pladv(0);
    char title[TEXT_MAX];
    snprintf(title, sizeof title, "Stage 2: mean %s over each pair of grid parameters", objective_label(s));
    page_title(title);
    double w = 0.85 / (double)c->n_pairs;
    for (size_t k = 0; k < c->n_pairs; k++) {
        int pi = c->pair[k][0], pj = c->pair[k][1];
        double xv[GRID_MAX_VALUES], yv[GRID_MAX_VALUES] = {0};
        size_t nx = stage_values(c->a, c->stage, (size_t)pi, xv);
        size_t ny = pj >= 0 ? stage_values(c->a, c->stage, (size_t)pj, yv) : 1;
        grid_cell cells[GRID_MAX_VALUES * GRID_MAX_VALUES];
        grid_cells(c, pi, pj, xv, nx, yv, ny, cells);
        double x0 = 0.02 + w * (double)k + 0.085;
        plvpor(x0, x0 + w - 0.11, 0.17, 0.82);
        plwind(0, (double)nx, 0, (double)ny);
        for (size_t b = 0; b < ny; b++)
            for (size_t a = 0; a < nx; a++) {
                const grid_cell *cell = &cells[b * nx + a];
                double cx = (double)a + 0.5, cy = (double)b + 0.5;
                if (cell->n_usable) {
                    double mean = cell->sum / (double)cell->n_usable;
                    double u = c->vmax > c->vmin ? (mean - c->vmin) / (c->vmax - c->vmin) : 0.5;
                    plcol1(u);
                    PLFLT fx[4] = {(double)a, (double)a + 1, (double)a + 1, (double)a};
                    PLFLT fy[4] = {(double)b, (double)b, (double)b + 1, (double)b + 1};
                    plfill(4, fx, fy);
                    plcol0(u > 0.45 ? MRPC_PLOT_WHITE : MRPC_PLOT_BLACK);
                    plschr(0, 0.85);
                    ptext(t, sizeof t, "%.1f", 100 * mean);
                    plptex(cx, cy + 0.08, 1, 0, 0.5, t);
                    plschr(0, 0.6);
                    if (cell->n_total > cell->n_usable)
                        ptext(t, sizeof t, "n=%zu of %zu", cell->n_usable, cell->n_total);
                    else
                        ptext(t, sizeof t, "n=%zu", cell->n_usable);
                    plptex(cx, cy - 0.18, 1, 0, 0.5, t);
                } else {
                    mrpc_plot_rect((double)a, (double)b, (double)a + 1, (double)b + 1, MRPC_PLOT_BAND);
                    plcol0(MRPC_PLOT_RED);
                    plschr(0, 0.7);
                    plptex(cx, cy, 1, 0, 0.5, cell->n_total ? "no usable run" : "no run");
                }
            }
        plcol0(MRPC_PLOT_BLACK);
        plbox("bc", 0, 0, "bc", 0, 0);
        plschr(0, 0.75);
        for (size_t a = 0; a < nx; a++) {
            char v[48];
            mrpc_runset_format_value(s, (size_t)pi, xv[a], v, sizeof v);
            mrpc_plot_text(t, sizeof t, v);
            plmtex("b", 1.2, ((double)a + 0.5) / (double)nx, 0.5, t);
        }
        for (size_t b = 0; pj >= 0 && b < ny; b++) {
            char v[48];
            mrpc_runset_format_value(s, (size_t)pj, yv[b], v, sizeof v);
            mrpc_plot_text(t, sizeof t, v);
            plmtex("lv", 0.6, ((double)b + 0.5) / (double)ny, 1.0, t);
        }
        plschr(0, 0.9);
        mrpc_plot_text(t, sizeof t, s->params[pi].name);
        plmtex("b", 2.8, 0.5, 0.5, t);
        if (pj >= 0) {
            mrpc_plot_text(t, sizeof t, s->params[pj].name);
            plmtex("l", 5.0, 0.5, 0.5, t);
            /* The third varied parameter is averaged over. */
            const char *other = NULL;
            for (size_t q = 0; q < c->nv; q++)
                if ((int)c->varied[q] != pi && (int)c->varied[q] != pj) other = s->params[c->varied[q]].name;
            plschr(0, 0.75);
            if (other) ptext(t, sizeof t, "mean over %s", other);
            else ptext(t, sizeof t, "one run per cell");
            plmtex("t", 0.8, 0.5, 0.5, t);
        }
        plschr(0, 0.9);
    }
    ptext(t, sizeof t, "mean %s (points)", objective_label(s));
    mrpc_plot_colorbar(0.9, 0.918, 0.17, 0.82, 100 * c->vmin, 100 * c->vmax, t);
}

static void fig_grid(const mrpc_analysis *a, mrpc_figure *f, grid_ctx *c) {
    const mrpc_runset *s = a->study;
    snprintf(f->name, sizeof f->name, "grid_heatmaps");
    snprintf(f->title, sizeof f->title, "Stage 2 grid heatmaps");
    memset(c, 0, sizeof *c);
    c->a = a;
    c->stage = mrpc_analysis_find_stage(a, "grid");
    if (c->stage < 0 || a->stages[c->stage].n_usable == 0) {
        snprintf(f->skipped, sizeof f->skipped, "%s", c->stage < 0 ? "no grid stage" : "no usable grid run");
        return;
    }
    size_t varied[MRPC_RUNSET_MAX_PARAMS];
    size_t nv = mrpc_analysis_stage_varied(a, c->stage, varied, MRPC_RUNSET_MAX_PARAMS);
    if (nv == 0) {
        snprintf(f->skipped, sizeof f->skipped, "the grid stage varies no parameter");
        return;
    }
    c->nv = nv > 3 ? 3 : nv;
    memcpy(c->varied, varied, c->nv * sizeof *varied);
    if (c->nv == 1) {
        c->pair[0][0] = (int)c->varied[0];
        c->pair[0][1] = -1;
        c->n_pairs = 1;
    } else {
        for (size_t i = 0; i < c->nv; i++)
            for (size_t j = i + 1; j < c->nv; j++) {
                c->pair[c->n_pairs][0] = (int)c->varied[i];
                c->pair[c->n_pairs][1] = (int)c->varied[j];
                c->n_pairs++;
            }
    }
    /* Colour range over every cell of every panel. */
    c->vmin = INFINITY;
    c->vmax = -INFINITY;
    for (size_t k = 0; k < c->n_pairs; k++) {
        double xv[GRID_MAX_VALUES], yv[GRID_MAX_VALUES] = {0};
        size_t nx = stage_values(a, c->stage, (size_t)c->pair[k][0], xv);
        size_t ny = c->pair[k][1] >= 0 ? stage_values(a, c->stage, (size_t)c->pair[k][1], yv) : 1;
        grid_cell cells[GRID_MAX_VALUES * GRID_MAX_VALUES];
        grid_cells(c, c->pair[k][0], c->pair[k][1], xv, nx, yv, ny, cells);
        for (size_t q = 0; q < nx * ny; q++)
            if (cells[q].n_usable) {
                double m = cells[q].sum / (double)cells[q].n_usable;
                c->vmin = fmin(c->vmin, m);
                c->vmax = fmax(c->vmax, m);
            }
    }
    f->width = 120 + 460 * (int)c->n_pairs;
    f->height = 520;
    snprintf(f->caption, sizeof f->caption,
             "Each panel is one pair of the parameters the grid stage varies; a cell shows the mean %s of the usable "
             "grid runs with those two values (averaged over the remaining grid parameter) and how many runs it holds. "
             "Grey cells have no usable run (failed, diverged, running or missing).%s",
             s->objective, nv > 3 ? " Only the first three varied parameters are drawn." : "");
}

/* ---- optimisation progress ------------------------------------------------------------ */

typedef struct prog_ctx {
    const mrpc_analysis *a;
} prog_ctx;

static void step_line(const double *v, size_t n) {
    PLFLT *x = malloc((2 * n + 2) * sizeof *x), *y = malloc((2 * n + 2) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (k) {
            x[k] = (double)(i + 1);
            y[k] = y[k - 1];
            k++;
        }
        x[k] = (double)(i + 1);
        y[k] = 100 * v[i];
        k++;
    }
    if (k) {
        /* A short tail, so a gain at the last run reads as a step. */
        x[k] = (double)n + 0.45;
        y[k] = y[k - 1];
        k++;
    }
    if (k >= 2) plline((PLINT)k, x, y);
    free(x);
    free(y);
}

static void draw_progress(void *vctx) {
    const prog_ctx *c = vctx;
    const mrpc_analysis *a = c->a;
    const mrpc_runset *s = a->study;
    char t[TEXT_MAX];
    pladv(0);
    page_title(a->bayes.n ? "Optimisation progress: stage 3 against the grid and random search"
                          : "Optimisation progress: the grid stage against random search");
    size_t kmax = a->bayes.n > a->grid.n ? a->bayes.n : a->grid.n;
    double lo = INFINITY, hi = -INFINITY;
    range_of(a->bayes.objective, a->bayes.n, 100, &lo, &hi);
    range_of(a->grid.best_so_far, a->grid.n, 100, &lo, &hi);
    range_of(a->random_expected, a->n_random, 100, &lo, &hi);
    if (isfinite(a->best_before_bayes) && a->bayes.n) {
        lo = fmin(lo, 100 * a->best_before_bayes);
        hi = fmax(hi, 100 * a->best_before_bayes);
    }
    pad_range(&lo, &hi, 0.08);
    plvpor(0.08, 0.97, 0.13, 0.86);
    plwind(0.5, (double)kmax + 0.5, lo, hi);
    plcol0(MRPC_PLOT_BLACK);
    plschr(0, 0.8);
    plbox("bcgnst", 0, 0, "bcgnstv", 0, 0);
    plschr(0, 0.9);
    ptext(t, sizeof t, "run index within the stage (wave and task order)");
    plmtex("b", 2.8, 0.5, 0.5, t);
    ptext(t, sizeof t, "%s (points)", objective_label(s));
    plmtex("l", 4.0, 0.5, 0.5, t);

    mrpc_plot_legend_entry leg[5];
    size_t nl = 0;
    char lb[5][160];
    if (a->n_random) {
        plcol0(MRPC_PLOT_GREY);
        pllsty(2);
        plwidth(2);
        PLFLT *x = malloc(a->n_random * sizeof *x), *y = malloc(a->n_random * sizeof *y);
        if (x && y) {
            for (size_t k = 0; k < a->n_random; k++) {
                x[k] = (double)(k + 1);
                y[k] = 100 * a->random_expected[k];
            }
            plline((PLINT)a->n_random, x, y);
        }
        free(x);
        free(y);
        pllsty(1);
        snprintf(lb[nl], sizeof lb[nl], "random search: expected best of k draws");
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = MRPC_PLOT_GREY, .style = 2, .width = 2};
        nl++;
    }
    if (isfinite(a->best_before_bayes) && a->bayes.n) {
        plcol0(MRPC_PLOT_GREEN);
        pllsty(3);
        plwidth(2);
        PLFLT x[2] = {0.5, (double)kmax + 0.5}, y[2] = {100 * a->best_before_bayes, 100 * a->best_before_bayes};
        plline(2, x, y);
        pllsty(1);
        snprintf(lb[nl], sizeof lb[nl], "best before stage 3 (%.2f)", 100 * a->best_before_bayes);
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = MRPC_PLOT_GREEN, .style = 3, .width = 2};
        nl++;
    }
    if (a->grid.n) {
        plcol0(MRPC_PLOT_ORANGE);
        plwidth(2.5);
        step_line(a->grid.best_so_far, a->grid.n);
        snprintf(lb[nl], sizeof lb[nl], "grid stage: best so far (%zu runs)", a->grid.n);
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = MRPC_PLOT_ORANGE, .style = 1, .width = 2.5};
        nl++;
    }
    if (a->bayes.n) {
        plcol0(MRPC_PLOT_PALE_BLUE);
        for (size_t k = 0; k < a->bayes.n; k++) {
            if (!isfinite(a->bayes.objective[k])) continue;
            PLFLT x = (double)(k + 1), y = 100 * a->bayes.objective[k];
            plpoin(1, &x, &y, 4);
        }
        plcol0(MRPC_PLOT_BLUE);
        plwidth(3);
        step_line(a->bayes.best_so_far, a->bayes.n);
        snprintf(lb[nl], sizeof lb[nl], "stage 3 (bayes): best so far (%zu runs)", a->bayes.n);
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = MRPC_PLOT_BLUE, .style = 1, .width = 3};
        nl++;
        snprintf(lb[nl], sizeof lb[nl], "stage 3: each run");
        leg[nl] = (mrpc_plot_legend_entry){.label = lb[nl], .color = MRPC_PLOT_PALE_BLUE, .symbol = 4};
        nl++;
    }
    plwidth(1);
    plschr(0, 0.75);
    mrpc_plot_legend(0.55, 0.42, leg, nl, 1);
    plschr(0, 0.9);
}

static void fig_progress(const mrpc_analysis *a, mrpc_figure *f, prog_ctx *c) {
    snprintf(f->name, sizeof f->name, "optimization_progress");
    snprintf(f->title, sizeof f->title, "Stage 3 best-so-far against the grid and random search");
    c->a = a;
    if (!a->bayes.n && !a->grid.n) {
        snprintf(f->skipped, sizeof f->skipped, "no grid or bayes stage");
        return;
    }
    if (!a->n_random) {
        snprintf(f->skipped, sizeof f->skipped, "no usable run");
        return;
    }
    f->width = 1100;
    f->height = 560;
    snprintf(f->caption, sizeof f->caption,
             "Best %s so far against the run index within each stage: stage 3 (blue; circles are its single runs), the "
             "grid stage (orange), and a random-search reference (grey dashed): the expected best of k runs drawn at "
             "random with replacement from the %s values of all %zu usable runs of the study, by the order-statistics "
             "formula E[max of k] = sum_i x_(i) ((i/n)^k - ((i-1)/n)^k). Green dashed: the best run before stage 3.",
             a->study->objective, a->study->objective, a->n_usable);
}

/* ---- entry point ---------------------------------------------------------------------- */

mrpc_status mrpc_figures_write(const mrpc_analysis *a, const char *dir, mrpc_figures *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    pc_ctx pc;
    curves_ctx cc;
    sens_ctx sc;
    grid_ctx gc;
    prog_ctx prc;
    fig_parallel(a, &out->f[0], &pc);
    fig_curves(a, &out->f[1], &cc);
    fig_sens(a, &out->f[2], &sc);
    fig_grid(a, &out->f[3], &gc);
    fig_progress(a, &out->f[4], &prc);
    out->n = 5;
    mrpc_plot_draw_fn fns[5] = {draw_parallel, draw_curves, draw_sens, draw_grid, draw_progress};
    void *ctxs[5] = {&pc, &cc, &sc, &gc, &prc};
    for (size_t k = 0; k < out->n; k++) {
        mrpc_figure *f = &out->f[k];
        if (f->skipped[0]) continue;
        mrpc_status st = mrpc_plot_write(dir, f->name, f->width, f->height, fns[k], ctxs[k], err);
        if (st != MRPC_OK) return st;
        f->written = 1;
    }
    return mrpc_rungs_figure(a, dir, &out->f[out->n++], err); /* rungs.h */
}
