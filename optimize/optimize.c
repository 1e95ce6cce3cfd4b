/* optimize.c — the next-wave decision and the status report (see optimize.h). */
#include "optimize.h"
#include "recommend.h"
#include "confirm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asha.h"
#include "fidelity.h"
#include "fsutil.h"
#include "strutil.h"

void mrpc_next_result_free(mrpc_next_result *res) {
    if (!res) return;
    mrpc_emit_files_free(&res->files);
    memset(res, 0, sizeof *res);
}

static const char *bindir_of(const mrpc_study *st, const mrpc_next_options *opt) {
    if (st->slurm.bindir[0]) return st->slurm.bindir;
    return opt->bindir ? opt->bindir : "";
}

/* Renders the plan and, unless dry, writes it; fills the result. */
static mrpc_status emit(const mrpc_study *st, const mrpc_plan *plan, const mrpc_next_options *opt,
                        mrpc_next_result *res, mrpc_error *err) {
    mrpc_status r = mrpc_emit_render(st, plan, bindir_of(st, opt), &res->files, err);
    if (r != MRPC_OK) return r;
    mrpc_emit_wave_dir(st, plan->stage, plan->wave, res->wave_dir, sizeof res->wave_dir);
    if (!opt->dry_run) {
        r = mrpc_emit_write(res->wave_dir, &res->files, opt->crash_after, err);
        if (r != MRPC_OK) return r;
    }
    res->outcome = MRPC_NEXT_WAVE;
    res->stage = plan->stage;
    res->wave = plan->wave;
    res->n_tasks = plan->n_tasks;
    snprintf(res->sbatch, sizeof res->sbatch, "sbatch %s/wave.sbatch", res->wave_dir);
    snprintf(res->note, sizeof res->note, "%s wave %02d: %zu task%s; %s", mrpc_stage_name(plan->stage), plan->wave,
             plan->n_tasks, plan->n_tasks == 1 ? "" : "s", plan->note);
    return MRPC_OK;
}

static int stage_pending(const mrpc_history *h, int stage, size_t *pending) {
    mrpc_history_stage_tasks(h, stage, pending);
    return *pending > 0;
}

/* Writes sensitivity.yaml when its content changed (atomically). */
static mrpc_status write_sensitivity(const mrpc_study *st, const mrpc_sensitivity_summary *s, mrpc_error *err) {
    char *yaml = NULL;
    mrpc_status r = mrpc_sensitivity_to_yaml(st, s, &yaml, err);
    if (r != MRPC_OK) return r;
    char path[MRPC_STUDY_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/sensitivity.yaml", st->dir);
    r = mrpc_file_write_text_if_changed(path, yaml, err);
    free(yaml);
    return r;
}

/* The decision, on a loaded history. */
static mrpc_status decide(const mrpc_study *st, const mrpc_history *h, const mrpc_next_options *opt,
                          mrpc_next_result *res, mrpc_error *err) {
    mrpc_sensitivity_summary *sens = NULL;
    mrpc_status r = MRPC_OK;
    mrpc_plan plan;
    memset(&plan, 0, sizeof plan);
    res->outcome = MRPC_NEXT_DONE;
    snprintf(res->note, sizeof res->note, "every stage of the study is done");
    for (int k = 0; k < MRPC_STAGE_COUNT; k++) {
        if (!st->has_stage[k]) continue;
        mrpc_stage_kind stage = (mrpc_stage_kind)k;
        const mrpc_wave_entry *last = mrpc_history_last_wave(h, k);
        size_t pending = 0;
        if (stage_pending(h, k, &pending)) {
            res->outcome = MRPC_NEXT_PENDING;
            res->stage = stage;
            res->wave = last ? last->wave : 0;
            res->pending = pending;
            if (last) mrpc_str_copy(res->wave_dir, sizeof res->wave_dir, last->dir);
            snprintf(res->note, sizeof res->note, "%s wave %02d: %zu run%s without a final record", mrpc_stage_name(stage),
                     res->wave, pending, pending == 1 ? "" : "s");
            goto done;
        }
        /* Runs of the stage's last wave that ended without a final record: retried first,
         * in a wave of their own, before the stage plans anything new. */
        if (last) {
            if ((r = mrpc_retry_plan(st, h, stage, last->wave + 1, &plan, err)) != MRPC_OK) goto done;
            if (plan.n_tasks > 0) {
                r = emit(st, &plan, opt, res, err);
                res->retries = plan.n_tasks;
                goto done;
            }
            mrpc_plan_free(&plan);
        }
        if (stage == MRPC_STAGE_SENSITIVITY) {
            if (!last) {
                if ((r = mrpc_sensitivity_plan(st, &plan, err)) != MRPC_OK) goto done;
                r = emit(st, &plan, opt, res, err);
                goto done;
            }
            sens = malloc(sizeof *sens);
            if (!sens) { r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory"); goto done; }
            if ((r = mrpc_sensitivity_summarize(st, h, sens, err)) != MRPC_OK) goto done;
            if (!opt->dry_run && (r = write_sensitivity(st, sens, err)) != MRPC_OK) goto done;
            if (!sens->ranked) {
                res->outcome = MRPC_NEXT_BLOCKED;
                res->stage = stage;
                snprintf(res->note, sizeof res->note,
                         "no baseline run of the sensitivity stage completed (%zu of %zu failed), so no effect can be "
                         "measured; fix the base config (see the run records' status_reason) and start a new study",
                         sens->n_baseline - sens->n_baseline_completed, sens->n_baseline);
                goto done;
            }
            continue;
        }
        int next_wave = last ? last->wave + 1 : 0;
        if (stage == MRPC_STAGE_CONFIRM) { /* stages/confirm.h: one wave over new seeds, then answer.yaml */
            if ((r = mrpc_confirm_step(st, h, last != NULL, next_wave, !opt->dry_run, &plan, err)) != MRPC_OK) goto done;
            if (plan.n_tasks == 0) {
                snprintf(res->note, sizeof res->note, "every stage of the study is done; %s", plan.note);
                mrpc_plan_free(&plan);
                continue;
            }
            r = emit(st, &plan, opt, res, err);
            goto done;
        }
        if (mrpc_study_fidelity(st, stage)->enabled) { /* successive halving: promotions, then new configurations */
            if ((r = mrpc_asha_plan(st, h, sens, stage, next_wave, &plan, NULL, err)) != MRPC_OK) goto done;
            if (plan.n_tasks == 0) { mrpc_plan_free(&plan); continue; }
            r = emit(st, &plan, opt, res, err);
            goto done;
        }
        if (stage == MRPC_STAGE_GRID) {
            if ((r = mrpc_grid_plan(st, h, sens, next_wave, &plan, err)) != MRPC_OK) goto done;
            if (plan.n_tasks == 0) { mrpc_plan_free(&plan); continue; }
            r = emit(st, &plan, opt, res, err);
            goto done;
        }
        /* bayes */
        size_t spent = mrpc_history_stage_tasks(h, k, NULL);
        if (spent >= (size_t)st->bayes.budget) continue;
        size_t q = (size_t)st->bayes.wave_size;
        if (q > (size_t)st->bayes.budget - spent) q = (size_t)st->bayes.budget - spent;
        if (q > (size_t)st->slurm.max_array_size) q = (size_t)st->slurm.max_array_size;
        if ((r = mrpc_bayes_plan(st, h, sens, next_wave, q, &plan, NULL, err)) != MRPC_OK) goto done;
        if (plan.n_tasks == 0) { mrpc_plan_free(&plan); continue; }
        r = emit(st, &plan, opt, res, err);
        goto done;
    }
done:
    mrpc_plan_free(&plan);
    free(sens);
    return r;
}

static void report_problems(const mrpc_history *h, FILE *out) {
    if (!out) return;
    for (size_t i = 0; i < h->n_problems; i++) fprintf(out, "mrpc-optimize: note: %s\n", h->problems[i]);
}

mrpc_status mrpc_optimize_next(const mrpc_study *st, const mrpc_next_options *opt, mrpc_next_result *res,
                               mrpc_error *err) {
    memset(res, 0, sizeof *res);
    mrpc_lock lock = {.fd = -1};
    mrpc_status r = MRPC_OK;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    if (!opt->dry_run) {
        if ((r = mrpc_mkdir_p(st->dir, err)) != MRPC_OK) return r;
        char lock_path[MRPC_STUDY_PATH_MAX + 32];
        snprintf(lock_path, sizeof lock_path, "%s/.mrpc-optimize.lock", st->dir);
        r = mrpc_lock_acquire(&lock, lock_path, opt->lock_timeout, err);
        if (r != MRPC_OK) {
            if (r == MRPC_ERR_BUSY) mrpc_error_prefix(err, "another mrpc-optimize is working on this study: ");
            return r;
        }
        size_t removed = 0;
        if ((r = mrpc_emit_cleanup(st, &removed, err)) != MRPC_OK) goto done;
        /* mrpc-train writes its record into runs_dir: make sure it is there. */
        char runs[MRPC_STUDY_PATH_MAX + 300];
        snprintf(runs, sizeof runs, "%s/%s", st->dir, st->runs_dir);
        if ((r = mrpc_mkdir_p(runs, err)) != MRPC_OK) goto done;
        if (removed && opt->report) {
            fprintf(opt->report, "mrpc-optimize: note: removed %zu unfinished wave director%s left by an interrupted run\n",
                    removed, removed == 1 ? "y" : "ies");
        }
    }
    r = opt->dry_run ? mrpc_history_load(st, &h, err) : mrpc_history_load_update(st, &h, err);
    if (r != MRPC_OK) goto done;
    if (opt->finalize && h.n_waves > 0) {
        const mrpc_wave_entry *latest = &h.waves[h.n_waves - 1];
        if (!latest->finalized) {
            if (!opt->dry_run) {
                char marker[MRPC_STUDY_PATH_MAX + 96];
                snprintf(marker, sizeof marker, "%s/finalized", latest->dir);
                static const char text[] = "# The array of this wave has ended: tasks without a final record count as failed.\n"
                                           "finalized: true\n";
                if ((r = mrpc_file_write_atomic(marker, text, sizeof text - 1, err)) != MRPC_OK) goto done;
                mrpc_history_free(&h);
                if ((r = mrpc_history_load(st, &h, err)) != MRPC_OK) goto done;
            } else {
                /* Dry run: finalize in memory only. */
                for (size_t i = latest->first_obs; i < latest->first_obs + latest->n_tasks; i++) {
                    if (h.obs[i].state == MRPC_OBS_PENDING) mrpc_history_unfinished(st, 1, &h.obs[i]);
                }
            }
        }
    }
    report_problems(&h, opt->report);
    r = decide(st, &h, opt, res, err);
done:
    mrpc_history_free(&h);
    mrpc_lock_release(&lock);
    if (r != MRPC_OK) mrpc_next_result_free(res);
    return r;
}

/* ---- status ------------------------------------------------------------------------ */

static void print_config(const mrpc_study *st, const double *values, FILE *out) {
    for (size_t k = 0; k < st->space.n_params; k++) {
        const mrpc_param *p = &st->space.params[k];
        if (!mrpc_param_is_searchable(p)) continue;
        char v[40];
        mrpc_param_format(p, values[k], v, sizeof v);
        fprintf(out, " %s=%s", p->name, v);
    }
}

void mrpc_optimize_array_job_name(const mrpc_study *st, mrpc_stage_kind stage, int wave, char *out, size_t size) {
    snprintf(out, size, "mrpc-%s-%s-%02d", st->name, mrpc_stage_short(stage), wave);
}

void mrpc_optimize_pending_hint(const mrpc_study *st, const mrpc_next_result *res, const char *bindir,
                                mrpc_queue_probe probe, void *probe_ctx, FILE *out) {
    if (res->outcome != MRPC_NEXT_PENDING) return;
    char job[256];
    mrpc_optimize_array_job_name(st, res->stage, res->wave, job, sizeof job);
    int queued = probe ? probe(job, probe_ctx) : -1;
    const char *dir = bindir && bindir[0] ? bindir : ".";
    if (queued == 1) {
        fprintf(out, "  the array job %s of this wave is still in the Slurm queue: wait for it (its optimize step\n"
                     "  finalizes the wave when the array ends)\n", job);
        return;
    }
    if (queued == 0) {
        fprintf(out, "  the array job %s of this wave is no longer in the Slurm queue (squeue), so its %zu run%s\n"
                     "  without a final record will not finish on their own. Go on with:\n", job, res->pending,
                res->pending == 1 ? "" : "s");
    } else {
        fprintf(out, "  %zu run%s of %s %s no final record yet.\n"
                     "  If the wave's array (Slurm job %s) is no longer queued or running, go on with:\n",
                res->pending, res->pending == 1 ? "" : "s", res->wave_dir, res->pending == 1 ? "has" : "have", job);
    }
    fprintf(out, "    %s/mrpc-optimize next --study %s --finalize\n", dir, st->file);
    fprintf(out, "  (runs that ended without a final record are retried in the next wave, up to retries: %lld,\n"
                 "  then counted failed). A local run stopped with Ctrl-C continues with:\n"
                 "    %s/mrpc-pipeline run %s\n", (long long)st->retries, dir, st->file);
}

/* The top 3 of the recommendation (recommend.h); a model that cannot be fitted is one line. */
static void print_recommendation(const mrpc_study *st, const mrpc_history *h, FILE *out) {
    mrpc_recommendation rec;
    mrpc_error rerr = {0};
    if (mrpc_recommend(st, h, mrpc_recommend_default_stage(st), 3, &rec, &rerr) == MRPC_OK) {
        mrpc_recommendation_print(st, &rec, out);
    } else {
        char msg[1024];
        mrpc_error_format(&rerr, msg, sizeof msg);
        fprintf(out, "recommendation: cannot compute: %s\n", msg);
    }
    mrpc_recommendation_free(&rec);
}

mrpc_status mrpc_optimize_status(const mrpc_study *st, const char *bindir, FILE *out, mrpc_error *err) {
    return mrpc_optimize_status_probe(st, bindir, NULL, NULL, out, err);
}

mrpc_status mrpc_optimize_status_probe(const mrpc_study *st, const char *bindir, mrpc_queue_probe probe,
                                       void *probe_ctx, FILE *out, mrpc_error *err) {
    mrpc_history h;
    mrpc_status r = mrpc_history_load(st, &h, err);
    if (r != MRPC_OK) return r;
    fprintf(out, "study: %s (%s)\n", st->name, st->file);
    fprintf(out, "directory: %s\n", st->dir);
    fprintf(out, "objective: %s, %s\n", st->metric, st->maximize ? "maximize" : "minimize");
    fprintf(out, "records: %zu readable in %s/, %zu unreadable, %zu of other studies, %zu outside the space\n",
            h.n_records, st->runs_dir, h.n_unreadable, h.n_foreign, h.n_outside);
    size_t n_retried_runs = 0;
    for (int k = 0; k < MRPC_STAGE_COUNT; k++) {
        if (!st->has_stage[k]) continue;
        size_t counts[MRPC_OBS_STATE_COUNT] = {0}, n = 0, waves = 0, retried = 0;
        for (size_t i = 0; i < h.n_waves; i++) waves += h.waves[i].stage == k;
        for (size_t i = 0; i < h.n_obs; i++) {
            if (h.obs[i].stage != k || h.obs[i].state == MRPC_OBS_RETRIED) continue;
            counts[h.obs[i].state]++;
            n++;
            retried += h.obs[i].attempts > 1;
        }
        n_retried_runs += retried;
        fprintf(out, "stage %s: %zu wave%s, %zu run%s", mrpc_stage_name((mrpc_stage_kind)k), waves, waves == 1 ? "" : "s",
                n, n == 1 ? "" : "s");
        if (k == MRPC_STAGE_BAYES) fprintf(out, " of a budget of %lld", (long long)st->bayes.budget);
        fprintf(out, ": %zu completed, %zu failed, %zu diverged, %zu missing, %zu pending", counts[MRPC_OBS_COMPLETED],
                counts[MRPC_OBS_FAILED], counts[MRPC_OBS_DIVERGED], counts[MRPC_OBS_MISSING], counts[MRPC_OBS_PENDING]);
        if (counts[MRPC_OBS_INTERRUPTED]) fprintf(out, ", %zu interrupted (retried next)", counts[MRPC_OBS_INTERRUPTED]);
        if (counts[MRPC_OBS_PAUSED]) fprintf(out, ", %zu paused", counts[MRPC_OBS_PAUSED]);
        if (retried) fprintf(out, "; %zu retried", retried);
        fprintf(out, "\n");
        mrpc_asha_status(st, &h, (mrpc_stage_kind)k, out); /* rungs, when the stage has fidelity */
        for (size_t i = 0; i < h.n_waves; i++) {
            const mrpc_wave_entry *w = &h.waves[i];
            if (w->stage != k) continue;
            size_t c[MRPC_OBS_STATE_COUNT] = {0};
            for (size_t j = w->first_obs; j < w->first_obs + w->n_tasks; j++) c[h.obs[j].state]++;
            fprintf(out, "  wave %02d: %zu tasks: %zu completed, %zu failed, %zu diverged, %zu missing, %zu pending",
                    w->wave, w->n_tasks, c[MRPC_OBS_COMPLETED], c[MRPC_OBS_FAILED], c[MRPC_OBS_DIVERGED],
                    c[MRPC_OBS_MISSING], c[MRPC_OBS_PENDING]);
            if (c[MRPC_OBS_INTERRUPTED]) fprintf(out, ", %zu interrupted", c[MRPC_OBS_INTERRUPTED]);
            if (c[MRPC_OBS_PAUSED]) fprintf(out, ", %zu paused", c[MRPC_OBS_PAUSED]);
            if (c[MRPC_OBS_RETRIED]) fprintf(out, ", %zu retried in a later wave", c[MRPC_OBS_RETRIED]);
            fprintf(out, "%s\n", w->finalized ? " (finalized)" : "");
        }
    }
    if (n_retried_runs) {
        fprintf(out, "retried runs: %zu (ended without a final record; retries: %lld)\n", n_retried_runs,
                (long long)st->retries);
        size_t shown = 0;
        for (size_t i = 0; i < h.n_obs; i++) {
            const mrpc_obs *o = &h.obs[i];
            if (o->state == MRPC_OBS_RETRIED || o->attempts < 2) continue;
            if (shown++ == 20) {
                fprintf(out, "  ... and %zu more\n", n_retried_runs - 20);
                break;
            }
            fprintf(out, "  %s: %d attempt%s, last in %s wave %02d: %s\n", o->run_id, o->attempts,
                    o->attempts == 1 ? "" : "s", mrpc_stage_name((mrpc_stage_kind)o->stage), o->wave,
                    mrpc_obs_state_str(o->state));
        }
    }
    size_t outside = 0, outside_done = 0;
    for (size_t i = 0; i < h.n_obs; i++) {
        if (h.obs[i].stage >= 0) continue;
        outside++;
        outside_done += h.obs[i].state == MRPC_OBS_COMPLETED;
    }
    if (outside) fprintf(out, "runs outside the waves (warm start): %zu, %zu completed\n", outside, outside_done);
    const mrpc_obs *best = mrpc_history_best(st, &h);
    if (best) {
        char v[40];
        mrpc_format_f64(v, sizeof v, best->objective);
        fprintf(out, "best: %s %s=%s", best->run_id, st->metric, v);
        print_config(st, best->values, out);
        fprintf(out, "\n");
    } else {
        fprintf(out, "best: none yet\n");
    }
    print_recommendation(st, &h, out); /* the model's answer (recommend.h) */
    if (st->has_stage[MRPC_STAGE_CONFIRM]) mrpc_confirm_status(st, &h, out); /* the confirmed answer (confirm.h) */
    for (size_t i = 0; i < h.n_problems; i++) fprintf(out, "note: %s\n", h.problems[i]);

    mrpc_next_options opt = {.dry_run = 1, .bindir = bindir};
    mrpc_next_result res;
    memset(&res, 0, sizeof res);
    mrpc_error derr = {0};
    if (decide(st, &h, &opt, &res, &derr) == MRPC_OK) {
        static const char *const what[] = {"new wave", "waiting", "done", "blocked"};
        fprintf(out, "next: %s: %s\n", what[res.outcome], res.note);
        mrpc_optimize_pending_hint(st, &res, bindir, probe, probe_ctx, out);
    } else {
        char msg[1024];
        mrpc_error_format(&derr, msg, sizeof msg);
        fprintf(out, "next: cannot plan: %s\n", msg);
    }
    mrpc_next_result_free(&res);
    mrpc_history_free(&h);
    return MRPC_OK;
}
