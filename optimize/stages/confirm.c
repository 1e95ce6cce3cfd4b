/* confirm.c — the confirm stage: settings, plan, summary and answer (see confirm.h). */
#include "confirm.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strbuf.h"
#include "strutil.h"

/* ---- plan -------------------------------------------------------------------------- */

static int seed_used(const mrpc_history *h, int64_t s) {
    for (size_t i = 0; i < h->n_obs; i++)
        if (h->obs[i].seed == s) return 1;
    return 0;
}

void mrpc_confirm_seeds(const mrpc_study *st, const mrpc_history *h, int64_t *seeds) {
    int64_t s = st->base_seed;
    for (int64_t i = 0; i < st->confirm.seeds; i++) {
        while (seed_used(h, s)) s++;
        seeds[i] = s++;
    }
}

static void baseline_values(const mrpc_study *st, double *v) {
    for (size_t k = 0; k < st->space.n_params; k++) v[k] = st->space.params[k].baseline;
}

static int same_config(const mrpc_study *st, const double *a, const double *b) {
    for (size_t k = 0; k < st->space.n_params; k++)
        if (!mrpc_param_equal(&st->space.params[k], a[k], b[k])) return 0;
    return 1;
}

mrpc_status mrpc_confirm_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_recommendation *rec, int wave,
                              mrpc_plan *plan, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = MRPC_STAGE_CONFIRM;
    plan->wave = wave;
    plan->with_seed = 1;
    size_t np = st->space.n_params;
    double configs[MRPC_CONFIRM_MAX_K + 1][MRPC_SPACE_MAX_PARAMS];
    size_t n = 1;
    baseline_values(st, configs[0]);
    for (size_t i = 0; i < rec->n && n < (size_t)st->confirm.top_k + 1; i++) {
        int dup = 0;
        for (size_t j = 0; j < n && !dup; j++) dup = same_config(st, rec->items[i].values, configs[j]);
        if (!dup) memcpy(configs[n++], rec->items[i].values, np * sizeof(double));
    }
    if (n == 1) {
        snprintf(plan->note, sizeof plan->note, "nothing to confirm: no configuration of the %s stage completed",
                 mrpc_stage_name(rec->stage));
        return MRPC_OK;
    }
    int64_t seeds[MRPC_CONFIRM_MAX_SEEDS] = {0};
    mrpc_confirm_seeds(st, h, seeds);
    for (size_t c = 0; c < n; c++) {
        for (int64_t s = 0; s < st->confirm.seeds; s++) {
            for (size_t i = 0; i < h->n_obs; i++) {
                if (h->obs[i].seed == seeds[s] && same_config(st, h->obs[i].values, configs[c])) {
                    mrpc_plan_free(plan);
                    return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, "confirm",
                                          "configuration %zu with seed %lld already ran as %s", c, (long long)seeds[s],
                                          h->obs[i].run_id);
                }
            }
            char suffix[64];
            if (c == 0) snprintf(suffix, sizeof suffix, "baseline-seed%lld", (long long)seeds[s]);
            else snprintf(suffix, sizeof suffix, "rec%zu-seed%lld", c, (long long)seeds[s]);
            mrpc_status r = mrpc_plan_add(plan, configs[c], np, seeds[s], suffix, err);
            if (r != MRPC_OK) {
                mrpc_plan_free(plan);
                return r;
            }
        }
    }
    snprintf(plan->note, sizeof plan->note,
             "the baseline and the %zu best configuration%s of the %s stage's recommendation over %lld new seeds "
             "(%lld..%lld, paired)", n - 1, n == 2 ? "" : "s", mrpc_stage_name(rec->stage), (long long)st->confirm.seeds,
             (long long)seeds[0], (long long)seeds[st->confirm.seeds - 1]);
    return MRPC_OK;
}

/* ---- summary ----------------------------------------------------------------------- */

/* "conf-NN-NNN-<label>-seed<S>" -> label; 0 when the run id has another form. */
static int label_of(const char *run_id, char *label, size_t size) {
    const char *p = run_id;
    for (int dashes = 0; dashes < 3; dashes++) {
        p = strchr(p, '-');
        if (!p) return 0;
        p++;
    }
    const char *e = strstr(p, "-seed");
    if (!e || e == p || (size_t)(e - p) >= size) return 0;
    memcpy(label, p, (size_t)(e - p));
    label[e - p] = '\0';
    return 1;
}

static int fraction_metric(const char *m) {
    return strcmp(m, "accuracy") == 0 || strcmp(m, "f1") == 0 || strcmp(m, "best_accuracy") == 0;
}

mrpc_status mrpc_confirm_summarize(const mrpc_study *st, const mrpc_history *h, mrpc_confirm_summary *out,
                                   mrpc_error *err) {
    memset(out, 0, sizeof *out);
    out->baseline = out->answer = -1;
    out->points = fraction_metric(st->metric);
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage != MRPC_STAGE_CONFIRM || o->state == MRPC_OBS_RETRIED) continue;
        out->planned = 1;
        char label[16];
        if (!label_of(o->run_id, label, sizeof label)) continue;
        size_t s = 0;
        while (s < out->n_seeds && out->seeds[s] != o->seed) s++;
        if (s == out->n_seeds) {
            if (s == MRPC_CONFIRM_MAX_SEEDS) continue;
            out->seeds[out->n_seeds++] = o->seed;
            for (size_t c = 0; c < out->n_configs; c++) out->configs[c].objective[s] = NAN;
        }
        size_t c = 0;
        while (c < out->n_configs && strcmp(out->configs[c].label, label) != 0) c++;
        if (c == out->n_configs) {
            if (c == MRPC_CONFIRM_MAX_K + 1) continue;
            mrpc_confirm_config *cf = &out->configs[out->n_configs++];
            mrpc_str_copy(cf->label, sizeof cf->label, label);
            cf->rank = strcmp(label, "baseline") == 0 ? 0 : atoi(label + 3);
            memcpy(cf->values, o->values, sizeof cf->values);
            for (size_t j = 0; j < MRPC_CONFIRM_MAX_SEEDS; j++) cf->objective[j] = NAN;
            if (cf->rank == 0) out->baseline = (int)c;
        }
        mrpc_confirm_config *cf = &out->configs[c];
        mrpc_str_copy(cf->run_ids[s], sizeof cf->run_ids[s], o->run_id);
        out->n_runs++;
        switch (o->state) {
        case MRPC_OBS_COMPLETED:
            if (isfinite(o->objective)) {
                cf->objective[s] = o->objective;
                cf->n_completed++;
            } else {
                out->n_failed++;
            }
            break;
        case MRPC_OBS_PENDING:
        case MRPC_OBS_INTERRUPTED:
        case MRPC_OBS_PAUSED:
            out->n_pending++;
            break;
        default:
            out->n_failed++;
            break;
        }
    }
    const mrpc_confirm_config *base = out->baseline >= 0 ? &out->configs[out->baseline] : NULL;
    for (size_t c = 0; c < out->n_configs; c++) {
        mrpc_confirm_config *cf = &out->configs[c];
        double x[MRPC_CONFIRM_MAX_SEEDS];
        size_t m = 0;
        for (size_t s = 0; s < out->n_seeds; s++)
            if (isfinite(cf->objective[s])) x[m++] = cf->objective[s];
        double sum = 0.0, ss = 0.0;
        for (size_t i = 0; i < m; i++) sum += x[i];
        cf->mean = m ? sum / (double)m : NAN;
        for (size_t i = 0; i < m; i++) ss += (x[i] - cf->mean) * (x[i] - cf->mean);
        cf->sd = m >= 2 ? sqrt(ss / (double)(m - 1)) : NAN;
        if (base) {
            mrpc_status r = mrpc_paired_compare(cf->objective, base->objective, out->n_seeds, 0.95, &cf->vs_baseline, err);
            if (r != MRPC_OK) return r;
        }
        if (m == 0) continue;
        if (out->answer < 0) {
            out->answer = (int)c;
            continue;
        }
        double best = out->configs[out->answer].mean;
        /* Ties keep the earlier configuration: the baseline before any recommendation. */
        if (st->maximize ? cf->mean > best : cf->mean < best) out->answer = (int)c;
    }
    if (out->answer >= 0 && out->answer != out->baseline) {
        const mrpc_paired_result *p = &out->configs[out->answer].vs_baseline;
        out->significant = isfinite(p->p_t) && p->p_t < 0.05;
    }
    return MRPC_OK;
}

/* ---- answer ------------------------------------------------------------------------ */

/* A number in round-trip form, or null. */
static const char *num(char *buf, size_t size, double v) {
    if (!isfinite(v)) return "null";
    mrpc_format_f64(buf, size, v == 0.0 ? 0.0 : v);
    return buf;
}

/* A difference in points (x 100) with a sign and 2 decimals, e.g. "+0.74". */
static const char *pts(char *buf, size_t size, double v) {
    if (!isfinite(v)) return "n/a";
    snprintf(buf, size, "%+.2f", v * 100.0 == 0.0 ? 0.0 : v * 100.0);
    return buf;
}

/* One sentence: the answer and how sure it is. */
static void verdict(const mrpc_study *st, const mrpc_confirm_summary *s, char *buf, size_t size) {
    if (!s->planned) { snprintf(buf, size, "the confirm stage has not run yet"); return; }
    if (s->answer < 0) { snprintf(buf, size, "no confirmation run completed: no answer"); return; }
    const mrpc_confirm_config *a = &s->configs[s->answer];
    char m[40];
    snprintf(m, sizeof m, "%.4f", a->mean);
    if (s->answer == s->baseline) {
        snprintf(buf, size, "keep the baseline: no recommended configuration has a better mean %s over the %zu "
                            "confirmation seeds (baseline %s)", st->metric, s->n_seeds, m);
        return;
    }
    const mrpc_paired_result *p = &a->vs_baseline;
    if (s->baseline < 0 || p->n < 2) {
        snprintf(buf, size, "%s has the best mean %s (%s) over %zu seeds; fewer than 2 seeds pair with the baseline: "
                            "no test", a->label, st->metric, m, a->n_completed);
        return;
    }
    char d[32], lo[32], hi[32], unit[16];
    if (s->points) {
        pts(d, sizeof d, p->mean);
        pts(lo, sizeof lo, p->ci_low);
        pts(hi, sizeof hi, p->ci_high);
        snprintf(unit, sizeof unit, " points");
    } else {
        snprintf(d, sizeof d, "%+.4g", p->mean);
        snprintf(lo, sizeof lo, "%+.4g", p->ci_low);
        snprintf(hi, sizeof hi, "%+.4g", p->ci_high);
        unit[0] = '\0';
    }
    snprintf(buf, size,
             "%s has the best mean %s (%s over %zu seeds): %s%s against the baseline (95%% CI %s .. %s, paired "
             "t-test p = %.3g, sign test p = %.3g, Wilcoxon p = %.3g over %zu paired seeds): %s",
             a->label, st->metric, m, a->n_completed, d, unit, lo, hi, p->p_t, p->p_sign, p->p_wilcoxon, p->n,
             s->significant ? "significant at the 5% level"
                            : "NOT significant at the 5% level: the difference is within seed noise");
}

static void put_values(mrpc_strbuf *t, const mrpc_study *st, const double *values) {
    mrpc_strbuf_appendf(t, "{");
    int first = 1;
    for (size_t k = 0; k < st->space.n_params; k++) {
        const mrpc_param *p = &st->space.params[k];
        if (!mrpc_param_is_searchable(p)) continue;
        char v[40];
        mrpc_param_format(p, values[k], v, sizeof v);
        mrpc_strbuf_appendf(t, "%s%s: %s", first ? "" : ", ", p->name, v);
        first = 0;
    }
    mrpc_strbuf_appendf(t, "}");
}

static void put_list(mrpc_strbuf *t, const double *x, size_t n, double scale) {
    char a[40];
    mrpc_strbuf_appendf(t, "[");
    for (size_t i = 0; i < n; i++) mrpc_strbuf_appendf(t, "%s%s", i ? ", " : "", num(a, sizeof a, x[i] * scale));
    mrpc_strbuf_appendf(t, "]");
}

mrpc_status mrpc_confirm_to_yaml(const mrpc_study *st, const mrpc_confirm_summary *s, char **out, mrpc_error *err) {
    *out = NULL;
    mrpc_strbuf t = {0};
    char a[40], b[40];
    char v[1024];
    verdict(st, s, v, sizeof v);
    mrpc_strbuf_appendf(&t, "# The answer of study %s: its confirm stage, written by mrpc-optimize (optimize/stages/confirm.h).\n", st->name);
    mrpc_strbuf_appendf(&t, "# Every configuration ran with the same new seeds; differences are paired by seed.\n");
    mrpc_strbuf_appendf(&t, "# ci95: Student-t interval of the mean difference (n - 1 df); p_t: paired t-test;\n");
    mrpc_strbuf_appendf(&t, "# p_sign, p_wilcoxon: exact sign and signed-rank tests (two-sided).%s\n",
                        s->points ? " *_points: x 100." : "");
    mrpc_strbuf_appendf(&t, "study: %s\nobjective: %s\ngoal: %s\n", st->name, st->metric, st->maximize ? "maximize" : "minimize");
    mrpc_strbuf_appendf(&t, "complete: %s\nruns: %zu\npending_runs: %zu\nfailed_runs: %zu\n",
                        s->planned && !s->n_pending ? "true" : "false", s->n_runs, s->n_pending, s->n_failed);
    mrpc_strbuf_appendf(&t, "seeds: [");
    for (size_t i = 0; i < s->n_seeds; i++) mrpc_strbuf_appendf(&t, "%s%lld", i ? ", " : "", (long long)s->seeds[i]);
    mrpc_strbuf_appendf(&t, "]\n");
    mrpc_strbuf_appendf(&t, "answer: %s\n", s->answer >= 0 ? s->configs[s->answer].label : "null");
    mrpc_strbuf_appendf(&t, "significant: %s\n", s->significant ? "true" : "false");
    mrpc_strbuf_appendf(&t, "verdict: \"");
    for (const char *p = v; *p; p++) mrpc_strbuf_appendf(&t, "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
    mrpc_strbuf_appendf(&t, "\"\nconfigurations:\n");
    for (size_t c = 0; c < s->n_configs; c++) {
        const mrpc_confirm_config *cf = &s->configs[c];
        mrpc_strbuf_appendf(&t, "  - label: %s\n    rank: %d\n    values: ", cf->label, cf->rank);
        put_values(&t, st, cf->values);
        mrpc_strbuf_appendf(&t, "\n    run_ids: [");
        for (size_t i = 0; i < s->n_seeds; i++) mrpc_strbuf_appendf(&t, "%s%s", i ? ", " : "", cf->run_ids[i][0] ? cf->run_ids[i] : "null");
        mrpc_strbuf_appendf(&t, "]\n    objective: ");
        put_list(&t, cf->objective, s->n_seeds, 1.0);
        mrpc_strbuf_appendf(&t, "\n    completed: %zu\n    mean: %s\n    sd: %s\n", cf->n_completed, num(a, sizeof a, cf->mean),
                            num(b, sizeof b, cf->sd));
        if (s->baseline < 0 || (int)c == s->baseline) continue;
        const mrpc_paired_result *p = &cf->vs_baseline;
        const mrpc_confirm_config *base = &s->configs[s->baseline];
        double d[MRPC_CONFIRM_MAX_SEEDS];
        for (size_t i = 0; i < s->n_seeds; i++) d[i] = cf->objective[i] - base->objective[i];
        mrpc_strbuf_appendf(&t, "    vs_baseline:\n      pairs: %zu\n      differences: ", p->n);
        put_list(&t, d, s->n_seeds, 1.0);
        mrpc_strbuf_appendf(&t, "\n      mean: %s\n      sd: %s\n", num(a, sizeof a, p->mean), num(b, sizeof b, p->sd));
        mrpc_strbuf_appendf(&t, "      ci95: [%s, ", num(a, sizeof a, p->ci_low));
        mrpc_strbuf_appendf(&t, "%s]\n", num(b, sizeof b, p->ci_high));
        mrpc_strbuf_appendf(&t, "      t: %s\n      df: %s\n", num(a, sizeof a, p->t), num(b, sizeof b, p->df));
        mrpc_strbuf_appendf(&t, "      p_t: %s\n", num(a, sizeof a, p->p_t));
        mrpc_strbuf_appendf(&t, "      p_sign: %s\n", num(a, sizeof a, p->p_sign));
        mrpc_strbuf_appendf(&t, "      p_wilcoxon: %s\n", num(a, sizeof a, p->p_wilcoxon));
        mrpc_strbuf_appendf(&t, "      positive: %zu\n      negative: %zu\n      zero: %zu\n", p->n_pos, p->n_neg, p->n_zero);
        if (s->points) {
            mrpc_strbuf_appendf(&t, "      differences_points: ");
            put_list(&t, d, s->n_seeds, 100.0);
            mrpc_strbuf_appendf(&t, "\n      mean_points: %s\n", num(a, sizeof a, p->mean * 100.0));
            mrpc_strbuf_appendf(&t, "      ci95_points: [%s, ", num(a, sizeof a, p->ci_low * 100.0));
            mrpc_strbuf_appendf(&t, "%s]\n", num(b, sizeof b, p->ci_high * 100.0));
        }
    }
    if (t.failed) {
        free(t.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    *out = t.data;
    return MRPC_OK;
}

void mrpc_confirm_print(const mrpc_study *st, const mrpc_confirm_summary *s, FILE *out) {
    if (!s->planned) return;
    fprintf(out, "confirmation: %zu configuration%s over %zu seeds (", s->n_configs, s->n_configs == 1 ? "" : "s", s->n_seeds);
    for (size_t i = 0; i < s->n_seeds; i++) fprintf(out, "%s%lld", i ? " " : "", (long long)s->seeds[i]);
    fprintf(out, ")%s\n", s->n_pending ? ", provisional: runs pending" : "");
    for (size_t c = 0; c < s->n_configs; c++) {
        const mrpc_confirm_config *cf = &s->configs[c];
        fprintf(out, "  %-9s %s %.4f +- %.4f (%zu/%zu seeds)", cf->label, st->metric, cf->mean, cf->sd, cf->n_completed,
                s->n_seeds);
        if (s->baseline >= 0 && (int)c != s->baseline && cf->vs_baseline.n >= 2) {
            const mrpc_paired_result *p = &cf->vs_baseline;
            char d[32], lo[32], hi[32];
            if (s->points) {
                fprintf(out, "  vs baseline %s points [95%% CI %s, %s]", pts(d, sizeof d, p->mean),
                        pts(lo, sizeof lo, p->ci_low), pts(hi, sizeof hi, p->ci_high));
            } else {
                fprintf(out, "  vs baseline %+.4g [95%% CI %+.4g, %+.4g]", p->mean, p->ci_low, p->ci_high);
            }
            fprintf(out, " p_t=%.3g p_sign=%.3g p_wilcoxon=%.3g", p->p_t, p->p_sign, p->p_wilcoxon);
        }
        for (size_t k = 0; k < st->space.n_params; k++) {
            const mrpc_param *p = &st->space.params[k];
            if (!mrpc_param_is_searchable(p)) continue;
            char v[40];
            mrpc_param_format(p, cf->values[k], v, sizeof v);
            fprintf(out, " %s=%s", p->name, v);
        }
        fprintf(out, "\n");
    }
    char v[1024];
    verdict(st, s, v, sizeof v);
    fprintf(out, "answer: %s\n", v);
}

void mrpc_confirm_status(const mrpc_study *st, const mrpc_history *h, FILE *out) {
    mrpc_confirm_summary *s = malloc(sizeof *s);
    mrpc_error err = {0};
    if (!s || mrpc_confirm_summarize(st, h, s, &err) != MRPC_OK) {
        fprintf(out, "confirmation: cannot summarize (out of memory)\n");
    } else if (!s->planned) {
        fprintf(out, "confirmation: not planned yet (%lld seeds for the baseline and the top %lld)\n",
                (long long)st->confirm.seeds, (long long)st->confirm.top_k);
    } else {
        mrpc_confirm_print(st, s, out);
    }
    free(s);
}

/* ---- the stage's step in `next` ---------------------------------------------------- */

static mrpc_status write_answer(const mrpc_study *st, const mrpc_confirm_summary *s, mrpc_error *err) {
    char *yaml = NULL;
    mrpc_status r = mrpc_confirm_to_yaml(st, s, &yaml, err);
    if (r != MRPC_OK) return r;
    char path[MRPC_STUDY_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/answer.yaml", st->dir);
    r = mrpc_file_write_text_if_changed(path, yaml, err);
    free(yaml);
    return r;
}

mrpc_status mrpc_confirm_step(const mrpc_study *st, const mrpc_history *h, int have_wave, int next_wave, int write,
                              mrpc_plan *plan, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = MRPC_STAGE_CONFIRM;
    plan->wave = next_wave;
    mrpc_status r;
    if (!have_wave) {
        mrpc_recommendation rec;
        /* One more than top_k: a recommendation equal to the baseline is dropped. */
        r = mrpc_recommend(st, h, mrpc_recommend_default_stage(st), (size_t)st->confirm.top_k + 1, &rec, err);
        if (r == MRPC_OK) r = mrpc_confirm_plan(st, h, &rec, next_wave, plan, err);
        mrpc_recommendation_free(&rec);
        return r;
    }
    mrpc_confirm_summary *s = malloc(sizeof *s);
    if (!s) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    r = mrpc_confirm_summarize(st, h, s, err);
    if (r == MRPC_OK && write && s->n_pending == 0) r = write_answer(st, s, err);
    if (r == MRPC_OK) {
        char v[1024];
        verdict(st, s, v, sizeof v);
        size_t len = strlen(v) < sizeof plan->note ? strlen(v) : sizeof plan->note - 1; /* cut to the note's size */
        memcpy(plan->note, v, len);
        plan->note[len] = '\0';
    }
    free(s);
    return r;
}
