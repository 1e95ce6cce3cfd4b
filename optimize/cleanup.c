/* cleanup.c — checkpoints of paused runs that can no longer be promoted (see cleanup.h). */
#define _POSIX_C_SOURCE 200809L
#include "cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asha.h"
#include "fidelity.h"
#include "fsutil.h"
#include "stages.h"

int mrpc_cleanup_stage_over(const mrpc_study *st, const mrpc_history *h, mrpc_stage_kind stage) {
    const mrpc_fidelity *f = mrpc_study_fidelity(st, stage);
    if (!f->enabled || !mrpc_history_last_wave(h, stage)) return 0;
    /* A later stage that started means this one is over. */
    for (int k = (int)stage + 1; k < MRPC_STAGE_COUNT; k++)
        if (st->has_stage[k] && mrpc_history_last_wave(h, k)) return 1;
    for (size_t i = 0; i < h->n_obs; i++) {
        const mrpc_obs *o = &h->obs[i];
        if (o->stage == (int)stage && (o->state == MRPC_OBS_PENDING || o->state == MRPC_OBS_INTERRUPTED)) return 0;
    }
    int over = 0;
    size_t n_obs = h->n_obs ? h->n_obs : 1;
    mrpc_asha_run *runs = malloc(n_obs * sizeof *runs);
    size_t *idx = malloc(n_obs * sizeof *idx);
    double *loss = malloc(n_obs * MRPC_OBS_MAX_EPOCHS * sizeof *loss);
    mrpc_asha_promotion *promo = malloc(n_obs * sizeof *promo);
    mrpc_sensitivity_summary *sens = NULL;
    if (!runs || !idx || !loss || !promo) goto done;
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(f, rungs, MRPC_FIDELITY_MAX_RUNGS);
    size_t n = mrpc_asha_runs(st, h, stage, runs, idx, loss);
    size_t due = 0;
    mrpc_error err = {0};
    if (mrpc_asha_promotions(runs, n, rungs, nr, f->eta, promo, n_obs, &due, &err) != MRPC_OK || due > 0) goto done;
    if (stage == MRPC_STAGE_BAYES) {
        over = mrpc_history_stage_tasks(h, stage, NULL) >= (size_t)st->bayes.budget;
    } else if (stage == MRPC_STAGE_GRID) {
        if (st->has_stage[MRPC_STAGE_SENSITIVITY]) {
            sens = malloc(sizeof *sens);
            if (!sens || mrpc_sensitivity_summarize(st, h, sens, &err) != MRPC_OK) goto done;
        }
        mrpc_plan p;
        if (mrpc_grid_plan(st, h, sens, 0, &p, &err) == MRPC_OK) {
            over = p.n_tasks == 0;
            mrpc_plan_free(&p);
        }
    }
done:
    free(runs);
    free(idx);
    free(loss);
    free(promo);
    free(sens);
    return over;
}

mrpc_status mrpc_cleanup(const mrpc_study *st, int dry_run, double lock_timeout, FILE *out, mrpc_cleanup_result *res,
                         mrpc_error *err) {
    memset(res, 0, sizeof *res);
    mrpc_lock lock = {.fd = -1};
    mrpc_status r = MRPC_OK;
    if (!dry_run) {
        char lock_path[MRPC_STUDY_PATH_MAX + 32];
        snprintf(lock_path, sizeof lock_path, "%s/.mrpc-optimize.lock", st->dir);
        r = mrpc_lock_acquire(&lock, lock_path, lock_timeout, err);
        if (r != MRPC_OK) {
            if (r == MRPC_ERR_BUSY) mrpc_error_prefix(err, "another mrpc-optimize is working on this study: ");
            return r;
        }
    }
    mrpc_history h;
    if ((r = mrpc_history_load(st, &h, err)) != MRPC_OK) goto unlock;
    int over[MRPC_STAGE_COUNT] = {0};
    for (int k = 0; k < MRPC_STAGE_COUNT; k++) over[k] = st->has_stage[k] && mrpc_cleanup_stage_over(st, &h, (mrpc_stage_kind)k);
    for (size_t i = 0; i < h.n_obs && r == MRPC_OK; i++) {
        const mrpc_obs *o = &h.obs[i];
        if (o->state != MRPC_OBS_PAUSED || o->stage < 0 || o->stage >= MRPC_STAGE_COUNT) continue;
        char path[MRPC_STUDY_PATH_MAX + 512];
        int n = snprintf(path, sizeof path, "%s/%s/%s.h5.resume", st->dir, st->runs_dir, o->run_id);
        if (n < 0 || (size_t)n >= sizeof path) continue;
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if (!over[o->stage]) {
            res->n_kept++;
            continue;
        }
        if (!dry_run && unlink(path) != 0 && errno != ENOENT) {
            r = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot remove the checkpoint: %s", strerror(errno));
            break;
        }
        res->n_files++;
        res->bytes += (uint64_t)sb.st_size;
        if (out) {
            fprintf(out, "%s %s (%lld bytes; %s stopped it after epoch %lld)\n", dry_run ? "would remove" : "removed", path,
                    (long long)sb.st_size, mrpc_stage_name((mrpc_stage_kind)o->stage), (long long)o->paused_epoch);
        }
    }
    if (r == MRPC_OK && res->n_files && !dry_run) {
        char runs[MRPC_STUDY_PATH_MAX + 300];
        snprintf(runs, sizeof runs, "%s/%s/x", st->dir, st->runs_dir);
        mrpc_sync_parent_dir(runs);
    }
    mrpc_history_free(&h);
unlock:
    mrpc_lock_release(&lock);
    return r;
}
