/* grid.c — stage 2: the Cartesian product over the tuned parameters (see stages.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages.h"
#include "stages_internal.h"

#define GRID_MAX_POINTS 1000000

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* Sorts and removes repeats; returns the new count. */
static size_t sort_unique(double *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[u - 1]) v[u++] = v[i];
    return u;
}

size_t mrpc_grid_values(const mrpc_study *st, const mrpc_sensitivity_summary *sens, const size_t *params,
                        size_t n_params, size_t *n_values, double values[][MRPC_SPACE_MAX_VALUES]) {
    size_t total = 1;
    for (size_t i = 0; i < n_params; i++) {
        size_t k = params[i];
        const mrpc_param *p = &st->space.params[k];
        size_t n = 0;
        if (st->grid.n_values[k]) {
            n = st->grid.n_values[k];
            memcpy(values[i], st->grid.values[k], n * sizeof(double));
        } else if (st->has_stage[MRPC_STAGE_SENSITIVITY] && sens && !st->grid.n_params) {
            /* After a sensitivity stage the grid reuses its levels, so those runs count. */
            double low, high;
            int has_low, has_high;
            mrpc_sensitivity_levels(st, k, &low, &has_low, &high, &has_high);
            values[i][n++] = p->baseline;
            if (has_low) values[i][n++] = low;
            if (has_high) values[i][n++] = high;
        } else {
            size_t levels = (size_t)st->grid.levels;
            for (size_t j = 0; j < levels && n < MRPC_SPACE_MAX_VALUES; j++)
                values[i][n++] = mrpc_param_decode(p, levels > 1 ? (double)j / (double)(levels - 1) : 0.5);
        }
        n_values[i] = sort_unique(values[i], n);
        total = total > GRID_MAX_POINTS ? total : total * n_values[i];
    }
    return total;
}

mrpc_status mrpc_grid_plan(const mrpc_study *st, const mrpc_history *h, const mrpc_sensitivity_summary *sens,
                           int wave, mrpc_plan *plan, mrpc_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->stage = MRPC_STAGE_GRID;
    plan->wave = wave;
    size_t params[MRPC_SPACE_MAX_PARAMS], n_values[MRPC_SPACE_MAX_PARAMS];
    double (*vals)[MRPC_SPACE_MAX_VALUES] = malloc(MRPC_SPACE_MAX_PARAMS * sizeof *vals);
    if (!vals) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    size_t np = mrpc_stage_parameters(st, MRPC_STAGE_GRID, sens, params);
    size_t total = mrpc_grid_values(st, sens, params, np, n_values, vals);
    if (total > GRID_MAX_POINTS) {
        free(vals);
        return mrpc_error_set(err, MRPC_ERR_INVALID, st->file, 0, 0, "grid",
                              "the grid has more than %d points; give fewer parameters, values or levels", GRID_MAX_POINTS);
    }
    size_t nparam = st->space.n_params;
    double *taken = stage_canonical_configs(st, h);
    if (h->n_obs && !taken) {
        free(vals);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    double cfg[MRPC_SPACE_MAX_PARAMS];
    mrpc_space_baseline(&st->space, cfg);
    for (size_t k = 0; k < nparam; k++) cfg[k] = mrpc_param_canonical(&st->space.params[k], cfg[k]);
    size_t digit[MRPC_SPACE_MAX_PARAMS] = {0};
    size_t n_done = 0, limit = (size_t)st->slurm.max_array_size;
    mrpc_status r = MRPC_OK;
    for (size_t point = 0; point < total && r == MRPC_OK; point++) {
        /* Mixed-radix counter, the first parameter slowest. */
        size_t rem = point;
        for (size_t i = np; i-- > 0;) {
            digit[i] = rem % n_values[i];
            rem /= n_values[i];
        }
        for (size_t i = 0; i < np; i++) cfg[params[i]] = vals[i][digit[i]];
        if (stage_config_taken(taken, h->n_obs, nparam, cfg)) { n_done++; continue; }
        if (plan->n_tasks >= limit) continue;
        r = mrpc_plan_add(plan, cfg, nparam, st->base_seed, NULL, err);
    }
    snprintf(plan->note, sizeof plan->note, "%zu-point grid over %zu parameter%s: %zu already run, %zu in this wave%s",
             total, np, np == 1 ? "" : "s", n_done, plan->n_tasks,
             total - n_done > plan->n_tasks ? " (more in later waves)" : "");
    free(taken);
    free(vals);
    if (r != MRPC_OK) mrpc_plan_free(plan);
    return r;
}
