/* analysis.c — stages, best runs, best-vs-baseline statistics, importance, progress, readings
 * (see analysis.h). */
#include "analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

void mrpc_analysis_options_default(mrpc_analysis_options *opt) {
    opt->n_resamples = 10000;
    opt->level = 0.95;
    opt->seed = 20240917;
    opt->n_trees = 64;
}

double mrpc_analysis_points(double objective) { return 100.0 * objective; }

int mrpc_analysis_find_stage(const mrpc_analysis *a, const char *name) {
    for (size_t i = 0; i < a->n_stages; i++)
        if (strcmp(a->stages[i].name, name) == 0) return (int)i;
    return -1;
}

static void warn(mrpc_analysis *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void warn(mrpc_analysis *a, const char *fmt, ...) {
    if (a->n_warnings >= sizeof a->warnings / sizeof a->warnings[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->warnings[a->n_warnings++], sizeof a->warnings[0], fmt, ap);
    va_end(ap);
}

/* Appends printf text to a fixed reading buffer. */
static void cat(char *buf, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void cat(char *buf, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len + 1 >= MRPC_ANALYSIS_READING) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, MRPC_ANALYSIS_READING - len, fmt, ap);
    va_end(ap);
}

/*
 * "Spearman +0.42" (prefix "Spearman ") or "+0.42" (prefix ""), or, when the rank
 * correlation is undefined (the parameter takes one value in these runs, or the
 * objective does), the reason in words.
 */
static void spearman_words(char *out, size_t size, double rho, const char *param, const char *prefix) {
    if (isfinite(rho)) snprintf(out, size, "%s%+.2f", prefix, rho);
    else snprintf(out, size, "no rank correlation: %s or the objective does not vary over these runs", param);
}

/* ---- stages and best runs ------------------------------------------------------------- */

static void find_stages(mrpc_analysis *a) {
    const mrpc_runset *s = a->study;
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        mrpc_analysis_stage *st = a->n_stages ? &a->stages[a->n_stages - 1] : NULL;
        if (!st || strcmp(st->name, r->stage) != 0) {
            if (a->n_stages == MRPC_ANALYSIS_MAX_STAGES) {
                warn(a, "more than %d stages; stage \"%s\" and later are folded into the last one",
                     MRPC_ANALYSIS_MAX_STAGES, r->stage);
            } else {
                st = &a->stages[a->n_stages++];
                memset(st, 0, sizeof *st);
                mrpc_str_copy(st->name, sizeof st->name, r->stage);
                st->first = i;
            }
        }
        st->count = i + 1 - st->first;
        st->counts[r->state]++;
        if (!r->usable) continue;
        st->n_usable++;
        a->n_usable++;
        /* Insert into the stage's top list (best first, earlier run first on ties). */
        size_t pos = st->n_top;
        while (pos > 0 && s->runs[st->top[pos - 1]].objective < r->objective) pos--;
        if (pos < MRPC_ANALYSIS_TOP) {
            size_t end = st->n_top < MRPC_ANALYSIS_TOP ? st->n_top : MRPC_ANALYSIS_TOP - 1;
            for (size_t k = end; k > pos; k--) st->top[k] = st->top[k - 1];
            st->top[pos] = i;
            if (st->n_top < MRPC_ANALYSIS_TOP) st->n_top++;
        }
        if (a->best < 0 || r->objective > s->runs[a->best].objective) a->best = (int)i;
    }
}

/* ---- best vs baseline --------------------------------------------------------------------- */

static int same_examples(const mrpc_runrec *x, const mrpc_runrec *y) {
    if (x->n_predictions != y->n_predictions || x->n_predictions == 0) return 0;
    return memcmp(x->labels, y->labels, x->n_predictions * sizeof *x->labels) == 0;
}

static mrpc_status compare_best_baseline(mrpc_analysis *a, mrpc_error *err) {
    const mrpc_runset *s = a->study;
    const char *obj = s->objective;
    if (a->best < 0) {
        snprintf(a->reading_mcnemar, sizeof a->reading_mcnemar, "McNemar: no usable run, nothing to test.");
        snprintf(a->reading_bootstrap, sizeof a->reading_bootstrap, "Bootstrap: no usable run, no confidence interval.");
        return MRPC_OK;
    }
    const mrpc_runset_run *B = &s->runs[a->best];
    mrpc_status st;
    if (B->rec.n_predictions) {
        st = mrpc_stats_bootstrap_run(B->rec.predictions, B->rec.labels, B->rec.n_predictions, a->opt.n_resamples,
                                      a->opt.seed, a->opt.level, &a->boot_best_acc, &a->boot_best_f1, NULL, err);
        if (st != MRPC_OK) return st;
        a->have_boot_best = 1;
    }
    const mrpc_runset_run *R = a->baseline >= 0 ? &s->runs[a->baseline] : NULL;
    if (R && R->rec.n_predictions) {
        st = mrpc_stats_bootstrap_run(R->rec.predictions, R->rec.labels, R->rec.n_predictions, a->opt.n_resamples,
                                      a->opt.seed, a->opt.level, &a->boot_baseline_acc, &a->boot_baseline_f1, NULL, err);
        if (st != MRPC_OK) return st;
        a->have_boot_baseline = 1;
    }
    int comparable = R && a->baseline != a->best && same_examples(&B->rec, &R->rec);
    if (comparable) {
        st = mrpc_stats_mcnemar(B->rec.predictions, R->rec.predictions, B->rec.labels, B->rec.n_predictions,
                                &a->mcnemar, err);
        if (st != MRPC_OK) return st;
        a->have_mcnemar = 1;
        st = mrpc_stats_bootstrap_diff(B->rec.predictions, R->rec.predictions, B->rec.labels, B->rec.n_predictions,
                                       a->opt.n_resamples, a->opt.seed, a->opt.level, &a->boot_diff, err);
        if (st != MRPC_OK) return st;
        a->have_boot_diff = 1;
    }

    /* McNemar reading. */
    char *m = a->reading_mcnemar;
    if (!R) {
        cat(m, "McNemar: no baseline run found (no sensitivity baseline and no run_id containing \"base\"), "
               "so the best run is not tested against one.");
    } else if (a->baseline == a->best) {
        cat(m, "McNemar: the best run is the baseline itself (%s); no other run beats it.", B->run_id);
    } else if (!B->rec.n_predictions || !R->rec.n_predictions) {
        cat(m, "McNemar: %s has no validation predictions in its record, so the paired test cannot be done.",
            !B->rec.n_predictions ? B->run_id : R->run_id);
    } else if (!comparable) {
        cat(m, "McNemar: %s and %s were not evaluated on the same examples (count or labels differ); no paired test.",
            B->run_id, R->run_id);
    } else {
        const mrpc_stats_mcnemar_result *t = &a->mcnemar;
        double diff = 100.0 * ((double)t->correct_a - (double)t->correct_b) / (double)t->n;
        cat(m, "best vs baseline: %+.2f points accuracy (%zu examples only the best gets right, %zu only the baseline), "
               "McNemar exact p = %.3g: ",
            diff, t->only_a, t->only_b, t->p);
        if (t->p < 0.05)
            cat(m, "unlikely to be chance alone on these %zu examples (optimistic: the best was picked on them too).", t->n);
        else
            cat(m, "not distinguishable from noise on %zu examples.", t->n);
    }

    /* Bootstrap reading. */
    char *b = a->reading_bootstrap;
    int lvl = (int)lround(100 * a->opt.level);
    if (a->have_boot_best) {
        cat(b, "accuracy %d%% CI: best %.1f [%.1f, %.1f]", lvl, 100 * a->boot_best_acc.estimate,
            100 * a->boot_best_acc.low, 100 * a->boot_best_acc.high);
        if (a->have_boot_baseline && a->baseline != a->best)
            cat(b, ", baseline %.1f [%.1f, %.1f]", 100 * a->boot_baseline_acc.estimate, 100 * a->boot_baseline_acc.low,
                100 * a->boot_baseline_acc.high);
        if (a->have_boot_diff) {
            int has0 = a->boot_diff.low <= 0 && a->boot_diff.high >= 0;
            cat(b, "; paired difference %+.1f [%+.1f, %+.1f] points %s", 100 * a->boot_diff.estimate,
                100 * a->boot_diff.low, 100 * a->boot_diff.high,
                has0 ? "includes 0: the gain may be sampling noise." : "excludes 0: larger than the sampling noise of these examples.");
        } else {
            cat(b, " (%zu examples, %zu resamples).", B->rec.n_predictions, a->opt.n_resamples);
        }
    } else {
        cat(b, "Bootstrap: the best run (%s) has no validation predictions; no confidence interval.", B->run_id);
    }
    (void)obj;
    return MRPC_OK;
}

/* ---- importance ------------------------------------------------------------------------- */

static mrpc_status importance(mrpc_analysis *a, mrpc_error *err) {
    const mrpc_runset *s = a->study;
    for (size_t p = 0; p < s->n_params; p++)
        if (!s->params[p].is_seed && s->params[p].n_distinct >= 2) a->imp_param[a->n_imp++] = p;
    size_t d = a->n_imp;
    char *rd = a->reading_importance;
    if (d == 0) {
        cat(rd, "Importance: no hyperparameter varies among the usable runs.");
        return MRPC_OK;
    }
    double *x = malloc((a->n_usable ? a->n_usable : 1) * d * sizeof *x);
    double *y = malloc((a->n_usable ? a->n_usable : 1) * sizeof *y);
    double *col = malloc((a->n_usable ? a->n_usable : 1) * sizeof *col);
    mrpc_status st = MRPC_OK;
    if (!x || !y || !col) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (!r->usable) continue;
        int ok = 1;
        for (size_t k = 0; k < d && ok; k++) {
            double u = mrpc_runset_unit(s, a->imp_param[k], r->x[a->imp_param[k]]);
            if (!isfinite(u)) ok = 0;
            x[n * d + k] = u;
        }
        if (!ok) continue;
        y[n++] = r->objective;
    }
    a->imp_n_runs = n;
    for (size_t k = 0; k < d; k++) {
        for (size_t i = 0; i < n; i++) col[i] = x[i * d + k];
        a->imp_pearson[k] = mrpc_stats_pearson(col, y, n);
        if ((st = mrpc_stats_spearman(col, y, n, &a->imp_spearman[k], err)) != MRPC_OK) goto done;
        a->imp_rf[k] = NAN;
    }
    if (n >= 8) {
        mrpc_forest_options fo;
        mrpc_forest_options_default(&fo);
        fo.n_trees = a->opt.n_trees;
        fo.seed = a->opt.seed;
        if ((st = mrpc_forest_importance(x, y, n, d, &fo, a->imp_rf, &a->forest, err)) != MRPC_OK) goto done;
        a->have_forest = 1;
    }
    /* Reading: top two by forest importance (else by |Spearman|). */
    size_t order[MRPC_RUNSET_MAX_PARAMS];
    for (size_t k = 0; k < d; k++) order[k] = k;
    for (size_t i = 1; i < d; i++)
        for (size_t j = i; j > 0; j--) {
            double kj = a->have_forest ? a->imp_rf[order[j]] : fabs(a->imp_spearman[order[j]]);
            double kp = a->have_forest ? a->imp_rf[order[j - 1]] : fabs(a->imp_spearman[order[j - 1]]);
            if (isnan(kp) || (!isnan(kj) && kj > kp)) {
                size_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            } else {
                break;
            }
        }
    /* An undefined statistic is said in words, never printed as "nan". */
    int same_objective = n > 0;
    for (size_t i = 1; i < n && same_objective; i++) same_objective = y[i] == y[0];
    char sp0[160], sp1[160];
    spearman_words(sp0, sizeof sp0, a->imp_spearman[order[0]], s->params[a->imp_param[order[0]]].name, "Spearman ");
    if (d > 1) spearman_words(sp1, sizeof sp1, a->imp_spearman[order[1]], s->params[a->imp_param[order[1]]].name, "");
    if (n < 3) {
        cat(rd, "Importance: only %zu usable runs with every varied parameter; too few for importance or correlation.", n);
    } else if (same_objective) {
        cat(rd, "Importance: all %zu usable runs have the same %s (%.2f), so no parameter explains any of it: rank "
                "correlations and forest importance are undefined.",
            n, s->objective, 100 * y[0]);
    } else if (!a->have_forest) {
        cat(rd, "Importance: only %zu usable runs, too few for a forest; strongest rank correlation: %s (%s), "
                "which with so few runs means little.",
            n, s->params[a->imp_param[order[0]]].name, sp0);
    } else {
        cat(rd, "%s matters most (forest importance %.2f, %s)", s->params[a->imp_param[order[0]]].name,
            a->imp_rf[order[0]], sp0);
        if (d > 1) cat(rd, ", then %s (%.2f, %s)", s->params[a->imp_param[order[1]]].name, a->imp_rf[order[1]], sp1);
        if (isfinite(a->forest.oob_r2)) {
            cat(rd, "; the forest explains %.0f%% of the variance out of bag over %zu runs", 100 * a->forest.oob_r2, n);
        } else {
            cat(rd, "; how much of the variance the forest explains out of bag over %zu runs is undefined (no run was "
                    "left out of enough trees to predict it)", n);
        }
        if (!(a->forest.oob_r2 >= 0.1)) cat(rd, ": it explains little, so the ranking may be noise.");
        else if (n < 30) cat(rd, ": a rough guide with this few runs.");
        else cat(rd, ".");
    }
done:
    free(x);
    free(y);
    free(col);
    return st;
}

/* ---- progress --------------------------------------------------------------------------- */

static mrpc_status progress_of(mrpc_analysis *a, const char *stage, mrpc_analysis_progress *p, mrpc_error *err) {
    p->stage = mrpc_analysis_find_stage(a, stage);
    if (p->stage < 0) return MRPC_OK;
    const mrpc_analysis_stage *st = &a->stages[p->stage];
    p->n = st->count;
    p->objective = malloc(p->n * sizeof *p->objective);
    p->best_so_far = malloc(p->n * sizeof *p->best_so_far);
    if (!p->objective || !p->best_so_far) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    double best = NAN;
    for (size_t k = 0; k < p->n; k++) {
        const mrpc_runset_run *r = &a->study->runs[st->first + k];
        p->objective[k] = r->usable ? r->objective : NAN;
        if (r->usable && (isnan(best) || r->objective > best)) best = r->objective;
        p->best_so_far[k] = best;
    }
    return MRPC_OK;
}

static mrpc_status progress(mrpc_analysis *a, mrpc_error *err) {
    const mrpc_runset *s = a->study;
    mrpc_status st = progress_of(a, "bayes", &a->bayes, err);
    if (st == MRPC_OK) st = progress_of(a, "grid", &a->grid, err);
    if (st != MRPC_OK) return st;
    a->best_before_bayes = NAN;
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (r->usable && strcmp(r->stage, "bayes") != 0 && (isnan(a->best_before_bayes) || r->objective > a->best_before_bayes))
            a->best_before_bayes = r->objective;
    }
    size_t k_max = a->bayes.n > a->grid.n ? a->bayes.n : a->grid.n;
    if (k_max == 0 || a->n_usable == 0) return MRPC_OK;
    double *sorted = malloc(a->n_usable * sizeof *sorted);
    a->random_expected = malloc(k_max * sizeof *a->random_expected);
    if (!sorted || !a->random_expected) {
        free(sorted);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].usable) sorted[n++] = s->runs[i].objective;
    mrpc_stats_sort(sorted, n);
    for (size_t k = 1; k <= k_max; k++) a->random_expected[k - 1] = mrpc_stats_expected_max(sorted, n, k);
    a->n_random = k_max;
    free(sorted);
    return MRPC_OK;
}

/* ---- readings of the stages ------------------------------------------------------------ */

static void read_sensitivity(mrpc_analysis *a) {
    const mrpc_runset *s = a->study;
    const mrpc_effects *z = &a->sens;
    char *rd = a->reading_sensitivity;
    if (!z->n_stage_runs) {
        cat(rd, "Stage 1: no run has stage \"sensitivity\", so there are no one-factor effects.");
        return;
    }
    if (!z->found || isnan(z->baseline_objective)) {
        cat(rd, "Stage 1: %zu sensitivity runs but no usable baseline among them, so effects cannot be measured.",
            z->n_stage_runs);
        return;
    }
    double sigma = 100 * z->noise;
    cat(rd, "Stage 1: baseline %.2f", 100 * z->baseline_objective);
    if (z->noise_from_seeds) cat(rd, " (mean of %zu seed repeats, seed noise sd %.2f points)", z->n_baseline_usable, sigma);
    else if (isfinite(sigma)) cat(rd, " (one baseline run: seed noise unknown, sampling s.e. %.2f points used instead)", sigma);
    size_t n_ranked = 0, n_above = 0;
    for (size_t k = 0; k < z->n_params; k++) {
        if (!z->params[k].rank) continue;
        n_ranked++;
        if (isfinite(sigma) && 100 * z->params[k].effect > 2 * sigma) n_above++;
    }
    if (!isfinite(sigma)) {
        cat(rd, "; %zu parameters ranked, largest effect %s (%.1f points).", n_ranked,
            n_ranked ? s->params[z->params[0].param].name : "-", n_ranked ? 100 * z->params[0].effect : 0.0);
    } else if (n_above == 0) {
        cat(rd, "; none of the %zu parameters moves the %s by more than 2x the noise: the ranking may be noise.", n_ranked,
            s->objective);
    } else {
        cat(rd, "; %zu of %zu parameters move the %s by more than 2x the noise:", n_above, n_ranked, s->objective);
        size_t shown = 0;
        for (size_t k = 0; k < z->n_params && shown < 4; k++) {
            const mrpc_effects_param *P = &z->params[k];
            if (!P->rank || !(100 * P->effect > 2 * sigma)) continue;
            cat(rd, "%s %s (%.1f)", shown ? "," : "", s->params[P->param].name, 100 * P->effect);
            shown++;
        }
        cat(rd, "%s.", n_above > shown ? ", ..." : "");
    }
    if (z->n_unclassified)
        cat(rd, " %zu sensitivity runs differ from the baseline in more than one parameter and are left out.",
            z->n_unclassified);
    if (z->has_optimizer_file) {
        cat(rd, " mrpc-optimize tuned");
        size_t shown = 0;
        for (size_t k = 0; k < z->n_params; k++)
            if (z->params[k].chosen) cat(rd, "%s %s", shown++ ? "," : ":", s->params[z->params[k].param].name);
        cat(rd, "%s%s.", shown ? "" : " nothing", z->optimizer_complete ? "" : " (provisional: runs were pending)");
    }
}

static void read_grid(mrpc_analysis *a) {
    const mrpc_runset *s = a->study;
    char *rd = a->reading_grid;
    int gi = mrpc_analysis_find_stage(a, "grid");
    if (gi < 0) {
        cat(rd, "Stage 2: no run has stage \"grid\".");
        return;
    }
    const mrpc_analysis_stage *g = &a->stages[gi];
    cat(rd, "Stage 2: %zu grid runs, %zu usable", g->count, g->n_usable);
    if (!g->n_usable) {
        cat(rd, ".");
        return;
    }
    const mrpc_runset_run *b = &s->runs[g->top[0]];
    double lo = INFINITY;
    for (size_t k = 0; k < g->count; k++)
        if (s->runs[g->first + k].usable && s->runs[g->first + k].objective < lo) lo = s->runs[g->first + k].objective;
    cat(rd, "; best %.1f (%s", 100 * b->objective, b->run_id);
    size_t varied[MRPC_RUNSET_MAX_PARAMS];
    size_t n_varied = mrpc_analysis_stage_varied(a, gi, varied, MRPC_RUNSET_MAX_PARAMS);
    size_t shown = 0;
    for (size_t k = 0; k < n_varied; k++) {
        size_t p = varied[k];
        char vb[32];
        mrpc_runset_format_value(s, p, b->x[p], vb, sizeof vb);
        cat(rd, "%s%s=%s", shown++ ? ", " : ": ", s->params[p].name, vb);
    }
    cat(rd, "); usable cells range %.1f to %.1f points.", 100 * lo, 100 * b->objective);
}

static void read_bayes(mrpc_analysis *a) {
    char *rd = a->reading_bayes;
    const mrpc_analysis_progress *bp = &a->bayes, *gp = &a->grid;
    if (bp->stage < 0) {
        cat(rd, "Stage 3: no run has stage \"bayes\".");
        return;
    }
    size_t n = bp->n;
    double last = n ? bp->best_so_far[n - 1] : NAN;
    if (isnan(last)) {
        cat(rd, "Stage 3: %zu Bayesian-optimisation runs, none usable.", n);
        return;
    }
    size_t at = 0;
    while (at < n && !(bp->objective[at] == last)) at++;
    cat(rd, "Stage 3: best %.1f after %zu runs (reached at run %zu)", 100 * last, n, at + 1);
    if (gp->n && !isnan(gp->best_so_far[gp->n - 1]))
        cat(rd, "; grid best %.1f after %zu runs", 100 * gp->best_so_far[gp->n - 1], gp->n);
    if (a->n_random >= n) cat(rd, "; random search would expect %.1f after %zu draws", 100 * a->random_expected[n - 1], n);
    if (isfinite(a->best_before_bayes)) {
        double gain = 100 * (last - a->best_before_bayes);
        cat(rd, "; %+.1f points over the best run before stage 3", gain);
        if (a->sens.noise_from_seeds && fabs(gain) < 2 * 100 * a->sens.noise) cat(rd, " (within 2x seed noise)");
    }
    cat(rd, ".");
}

static void read_runs(mrpc_analysis *a) {
    const mrpc_runset *s = a->study;
    char *rd = a->reading_runs;
    cat(rd, "%zu runs: %zu completed", s->n_runs, mrpc_runset_count(s, MRPC_RUNSET_COMPLETED));
    for (int k = MRPC_RUNSET_FAILED; k < MRPC_RUNSET_STATE_COUNT; k++) {
        size_t c = mrpc_runset_count(s, (mrpc_runset_state)k);
        if (c) cat(rd, ", %zu %s", c, mrpc_runset_state_str((mrpc_runset_state)k));
    }
    size_t retried = 0;
    for (size_t i = 0; i < s->n_runs; i++) retried += s->runs[i].retries > 0;
    if (retried) cat(rd, " (%zu retried after ending without a final record)", retried);
    /* Runs that a stop, a requeue, a lost node or rank interrupted, and that continued from
     * their checkpoint (/checkpoints@resumes): named, since their wall times include it. */
    size_t resumed = 0;
    for (size_t i = 0; i < s->n_runs; i++) resumed += s->runs[i].has_record && s->runs[i].rec.resumes > 0;
    if (resumed) {
        cat(rd, "; %zu resumed from a checkpoint after an interruption (preemption, a lost node or rank):", resumed);
        size_t listed = 0;
        for (size_t i = 0; i < s->n_runs && listed < 10; i++) {
            const mrpc_runset_run *r = &s->runs[i];
            if (!r->has_record || r->rec.resumes <= 0) continue;
            cat(rd, "%s %s (%lld resume%s, %lld steps redone)", listed ? "," : "", r->run_id, (long long)r->rec.resumes,
                r->rec.resumes == 1 ? "" : "s", (long long)r->rec.steps_redone);
            listed++;
        }
        if (resumed > listed) cat(rd, " and %zu more", resumed - listed);
    }
    cat(rd, "; statistics use the %zu usable completed runs", a->n_usable);
    size_t excluded = s->n_runs - a->n_usable;
    if (excluded) cat(rd, " (%zu excluded: listed with their reason below).", excluded);
    else cat(rd, ".");

    char *rb = a->reading_best;
    if (a->best < 0) {
        cat(rb, "No run completed with a %s value: there is nothing to rank.", s->objective);
        return;
    }
    const mrpc_runset_run *b = &s->runs[a->best];
    cat(rb, "Best run: %s (stage %s) with %s %.2f", b->run_id, b->stage[0] ? b->stage : "-", s->objective,
        100 * b->objective);
    if (a->baseline >= 0 && a->baseline != a->best)
        cat(rb, "; baseline %s: %.2f (%s).", s->runs[a->baseline].run_id, 100 * s->runs[a->baseline].objective,
            a->baseline_source);
    else if (a->baseline == a->best)
        cat(rb, "; it is the baseline.");
    else
        cat(rb, "; no baseline run identified.");
}

size_t mrpc_analysis_stage_varied(const mrpc_analysis *a, int stage, size_t *params, size_t max) {
    if (stage < 0 || (size_t)stage >= a->n_stages) return 0;
    const mrpc_runset *s = a->study;
    const mrpc_analysis_stage *g = &a->stages[stage];
    size_t n = 0;
    for (size_t p = 0; p < s->n_params && n < max; p++) {
        if (s->params[p].is_seed) continue;
        double first = NAN;
        int varies = 0;
        for (size_t k = 0; k < g->count && !varies; k++) {
            double v = s->runs[g->first + k].x[p];
            if (!isfinite(v)) continue;
            if (isnan(first)) first = v;
            else if (fabs(v - first) > 1e-9 * fmax(fabs(v), fabs(first))) varies = 1;
        }
        if (varies) params[n++] = p;
    }
    return n;
}

/* ---- entry points ----------------------------------------------------------------------- */

mrpc_status mrpc_analysis_compute(const mrpc_runset *s, const mrpc_analysis_options *opt, mrpc_analysis *a,
                                  mrpc_error *err) {
    memset(a, 0, sizeof *a);
    a->study = s;
    if (opt) a->opt = *opt;
    else mrpc_analysis_options_default(&a->opt);
    a->best = a->baseline = -1;
    a->bayes.stage = a->grid.stage = -1;
    a->best_before_bayes = NAN;
    find_stages(a);

    mrpc_status st = mrpc_effects_compute(s, &a->sens, err);
    if (st != MRPC_OK) goto fail;
    if (a->sens.optimizer_note[0]) warn(a, "%s", a->sens.optimizer_note);
    if (a->sens.baseline_run >= 0) {
        a->baseline = a->sens.baseline_run;
        snprintf(a->baseline_source, sizeof a->baseline_source, "the stage 1 baseline");
    } else {
        for (size_t i = 0; i < s->n_runs && a->baseline < 0; i++)
            if (s->runs[i].usable && strstr(s->runs[i].run_id, "base")) a->baseline = (int)i;
        if (a->baseline >= 0) snprintf(a->baseline_source, sizeof a->baseline_source, "run_id contains \"base\"");
    }
    /* The record's accuracy should be the accuracy of its predictions. */
    for (size_t i = 0; i < s->n_runs; i++) {
        const mrpc_runset_run *r = &s->runs[i];
        if (!r->usable || !r->rec.n_predictions || !r->rec.has_summary) continue;
        double acc = mrpc_stats_accuracy(r->rec.predictions, r->rec.labels, r->rec.n_predictions);
        if (isfinite(r->rec.summary.accuracy) && fabs(acc - r->rec.summary.accuracy) > 1e-6)
            warn(a, "%s: summary accuracy %.6f differs from the accuracy of its stored predictions %.6f", r->run_id,
                 r->rec.summary.accuracy, acc);
    }
    if ((st = compare_best_baseline(a, err)) != MRPC_OK) goto fail;
    if ((st = importance(a, err)) != MRPC_OK) goto fail;
    if ((st = progress(a, err)) != MRPC_OK) goto fail;
    read_runs(a);
    read_sensitivity(a);
    read_grid(a);
    read_bayes(a);
    return MRPC_OK;
fail:
    mrpc_analysis_free(a);
    return st;
}

void mrpc_analysis_free(mrpc_analysis *a) {
    if (!a) return;
    free(a->bayes.objective);
    free(a->bayes.best_so_far);
    free(a->grid.objective);
    free(a->grid.best_so_far);
    free(a->random_expected);
    memset(a, 0, sizeof *a);
    a->best = a->baseline = -1;
}
