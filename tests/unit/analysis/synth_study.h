/*
 * synth_study.h — writes a synthetic study with known numbers for the analysis tests:
 * run records through the runrec writer, waves/<stage>/<nn>/tasks.tsv, study.yaml (the
 * optimizer's format) and, for the full study, mrpc-optimize's sensitivity.yaml.
 *
 *   stage "sensitivity" (waves/sensitivity/00): 3 baseline seed repeats (s1-base-0..2)
 *       and a low and a high level of 7 parameters (s1-<param>-lo/-hi); s1-learning_rate-hi
 *       is "diverged" (NaN loss).
 *   stage "grid" (waves/grid/00): learning_rate x num_epochs x train_batch_size,
 *       3 x 3 x 2 = 18 runs (g2-00..17); g2-05 "failed".
 *   stage "bayes" (waves/bayes/00 and 01): 5 + 5 tasks (b3-00..09): b3-03 has no record
 *       (missing), runs/b3-06.h5 is garbage (unreadable), b3-08 is "running".
 *
 * Accuracies are k/408 exactly, k from a known function of the hyperparameters; each
 * run's predictions get exactly k examples right (correlated across runs, like real
 * fine-tuning), so accuracy(predictions) == summary accuracy.
 */
#ifndef MRPC_TEST_SYNTH_STUDY_H
#define MRPC_TEST_SYNTH_STUDY_H

#include <stddef.h>

#include "status.h"

#define SYNTH_N_VAL 408
#define SYNTH_N_PARAMS 7
#define SYNTH_MAX_RUNS 64

typedef struct synth_run {
    char   run_id[64];
    char   stage[16];
    char   status[16];  /* completed, failed, diverged, running, missing, unreadable */
    int    correct;     /* k: examples right (completed runs) */
    double params[SYNTH_N_PARAMS + 1]; /* the 7 parameters, then the seed */
} synth_run;

typedef struct synth_info {
    size_t    n_runs;
    synth_run runs[SYNTH_MAX_RUNS];
    const char *param_names[SYNTH_N_PARAMS + 1];
    char      best_run_id[64];
    double    best_accuracy;
    double    baseline_mean;   /* mean accuracy of the three baseline repeats */
    double    baseline_std;    /* their sample std */
    double    lr_effect;       /* largest |delta| of learning_rate (its usable level) */
} synth_info;

/* Writes the study into `dir` (created). */
mrpc_status synth_study_write(const char *dir, synth_info *info, mrpc_error *err);

/* Same, with only `n_completed` sensitivity runs and nothing else (a tiny study). */
mrpc_status synth_study_write_small(const char *dir, size_t n_completed, synth_info *info, mrpc_error *err);

#endif /* MRPC_TEST_SYNTH_STUDY_H */
