/*
 * fuzz_optimize_study.c — libFuzzer target for the study config parser: any bytes go
 * to mrpc_study_parse (study file in a scratch directory with a small base config),
 * which must either fail with an error record that names the file, or return a study
 * whose invariants hold: every parameter inside its run-config key's range with a
 * baseline inside its own space, shell-safe paths, stage settings in range.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "fsutil.h"
#include "study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The scratch directory is per process; creating it again is harmless. */
    char dir[128], file[192], base[192];
    snprintf(dir, sizeof dir, "/tmp/mrpc-fuzz-study-%ld", (long)getpid());
    snprintf(file, sizeof file, "%s/study.yaml", dir);
    snprintf(base, sizeof base, "%s/base.yaml", dir);
    if (!mrpc_path_exists(base)) {
        const char *text = "learning_rate: 5.0e-5\nnum_epochs: 3\n";
        mrpc_mkdir_p(dir, NULL);
        mrpc_file_write_atomic(base, text, strlen(text), NULL);
    }
    /* Keep the fuzzer away from endless device files as base configs. */
    if (size > 0 && (memmem(data, size, "/dev", 4) || memmem(data, size, "/proc", 5) || memmem(data, size, "/sys", 4))) return 0;
    mrpc_study *st = malloc(sizeof *st);
    if (!st) return 0;
    mrpc_error err = {0};
    mrpc_status s = mrpc_study_parse(file, (const char *)data, size, st, &err);
    if (s != MRPC_OK) {
        check(err.status == s && err.file[0] != '\0');
        free(st);
        return 0;
    }
    check(st->space.n_params >= 1 && st->space.n_params <= MRPC_SPACE_MAX_PARAMS);
    for (size_t i = 0; i < st->space.n_params; i++) {
        const mrpc_param *p = &st->space.params[i];
        check(p->min <= p->max && mrpc_param_contains(p, p->baseline));
        check(mrpc_param_canonical(p, p->baseline) == p->baseline);
        for (double u = 0.0; u <= 1.0; u += 0.25) check(mrpc_param_contains(p, mrpc_param_decode(p, u)));
    }
    check(mrpc_emit_path_is_safe(st->dir) && mrpc_relpath_is_safe(st->runs_dir) && mrpc_name_is_safe(st->name));
    check(!st->has_stage[MRPC_STAGE_BAYES] || st->bayes.budget >= 1);
    check(!st->has_stage[MRPC_STAGE_SENSITIVITY] || (st->sensitivity.top_k >= 1 && st->sensitivity.n_candidates >= 1));
    check(!st->has_stage[MRPC_STAGE_CONFIRM] || (st->confirm.top_k >= 1 && st->confirm.seeds >= 2));
    /* A W&B sweep file is one stage: its method's (wandb_sweep.h). */
    check(!st->wandb || st->has_stage[MRPC_STAGE_GRID] + st->has_stage[MRPC_STAGE_BAYES] == 1);
    check(strlen(st->notes) < sizeof st->notes);
    free(st);
    return 0;
}
