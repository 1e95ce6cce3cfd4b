/* runrec.c — the parts of the run-record API that do not touch HDF5: status names,
 * hyperparameter values, and queries on a record already read (see runrec.h). */
#include "runrec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *mrpc_run_status_str(mrpc_run_status status) {
    switch (status) {
    case MRPC_RUN_RUNNING: return "running";
    case MRPC_RUN_COMPLETED: return "completed";
    case MRPC_RUN_FAILED: return "failed";
    case MRPC_RUN_DIVERGED: return "diverged";
    case MRPC_RUN_PAUSED: return "paused";
    default: return "unknown";
    }
}

int mrpc_run_status_parse(const char *s, mrpc_run_status *out) {
    if (!s) return 0;
    for (int k = 0; k < MRPC_RUN_STATUS_COUNT; k++) {
        if (strcmp(s, mrpc_run_status_str((mrpc_run_status)k)) == 0) {
            if (out) *out = (mrpc_run_status)k;
            return 1;
        }
    }
    return 0;
}

double mrpc_hparam_as_double(const mrpc_hparam *h) {
    if (!h) return NAN;
    return h->kind == MRPC_VALUE_INT ? (double)h->i : h->f;
}

void mrpc_runrec_clear(mrpc_runrec *rec) {
    if (!rec) return;
    free(rec->config_yaml);
    free(rec->train_step);
    free(rec->train_loss);
    free(rec->train_learning_rate);
    free(rec->train_grad_norm);
    free(rec->eval_step);
    free(rec->eval_epoch);
    free(rec->eval_accuracy);
    free(rec->eval_f1);
    free(rec->eval_loss);
    free(rec->predictions);
    free(rec->labels);
    memset(rec, 0, sizeof *rec);
}

int mrpc_runrec_is_completed(const mrpc_runrec *rec) {
    return rec && rec->status == MRPC_RUN_COMPLETED && rec->has_summary;
}

const mrpc_hparam *mrpc_runrec_find_hparam(const mrpc_runrec *rec, const char *name) {
    if (!rec || !name) return NULL;
    size_t n = rec->n_hparams < MRPC_RUNREC_MAX_HPARAMS ? rec->n_hparams : MRPC_RUNREC_MAX_HPARAMS;
    for (size_t k = 0; k < n; k++) {
        if (strcmp(rec->hparams[k].name, name) == 0) return &rec->hparams[k];
    }
    return NULL;
}

int mrpc_runrec_metric(const mrpc_runrec *rec, const char *name, double *out) {
    if (!rec || !name) return 0;
    double v = NAN;
    if (strcmp(name, "eval_loss") == 0) {
        if (rec->n_eval == 0 || !rec->eval_loss) return 0;
        v = rec->eval_loss[rec->n_eval - 1];
    } else {
        if (!rec->has_summary) return 0;
        if (strcmp(name, "accuracy") == 0)
            v = rec->summary.accuracy;
        else if (strcmp(name, "f1") == 0)
            v = rec->summary.f1;
        else if (strcmp(name, "best_accuracy") == 0)
            v = rec->summary.best_accuracy;
        else if (strcmp(name, "train_seconds") == 0)
            v = rec->summary.train_seconds;
        else if (strcmp(name, "tokens_per_second") == 0)
            v = rec->summary.tokens_per_second;
        else
            return 0;
    }
    if (isnan(v)) return 0;
    if (out) *out = v;
    return 1;
}

int mrpc_runrec_metric_range(const char *name, double *lo, double *hi) {
    static const char *const unit[]     = {"accuracy", "f1", "best_accuracy"};
    static const char *const positive[] = {"train_seconds", "tokens_per_second", "eval_loss"};
    if (!name) return 0;
    for (size_t k = 0; k < sizeof unit / sizeof unit[0]; k++) {
        if (strcmp(name, unit[k]) == 0) {
            if (lo) *lo = 0.0;
            if (hi) *hi = 1.0;
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof positive / sizeof positive[0]; k++) {
        if (strcmp(name, positive[k]) == 0) {
            if (lo) *lo = 0.0;
            if (hi) *hi = HUGE_VAL;
            return 1;
        }
    }
    return 0;
}

int mrpc_runrec_metric_in_range(const char *name, double value) {
    double lo = 0.0, hi = 0.0;
    if (isnan(value) || !mrpc_runrec_metric_range(name, &lo, &hi)) return 1;
    return value >= lo && value <= hi && isfinite(value);
}
