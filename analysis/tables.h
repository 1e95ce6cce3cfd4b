/*
 * tables.h — the tables of the report, built from an analysis and written as
 * tables/<name>.csv and tables/<name>.md:
 *
 *   runs           every run: id, stage, wave/task, status and reason, accuracy, F1,
 *                  best accuracy, training time, throughput, host, every hyperparameter
 *   not_completed  the runs statistics leave out (failed, diverged, running, missing,
 *                  unreadable, completed without an objective) with their reason
 *   best_by_stage  the best runs of each stage
 *   sensitivity    stage 1: baseline repeats and every level, its delta and the
 *                  parameter's effect, effect / noise, rank, chosen
 *   grid           stage 2: the grid runs with the parameters the grid varied
 *   bayes          stage 3: the suggestions in order with best-so-far
 *   importance     forest importance, Pearson and Spearman per parameter
 *   statistics     each statistic with its estimate, interval and one-line reading
 *   rungs          the objective after every epoch of every run; full, promoted, stopped (rungs.h)
 *   confirmation   the confirm stage: configurations over new seeds against the baseline (confirmation.h)
 *
 * CSV cells hold exact values (objective as a fraction, as in the record); Markdown
 * and HTML show points with two decimals.
 */
#ifndef MRPC_ANALYSIS_TABLES_H
#define MRPC_ANALYSIS_TABLES_H

#include "analysis.h"
#include "status.h"
#include "table.h"

typedef enum mrpc_report_table_id {
    MRPC_TABLE_RUNS = 0,
    MRPC_TABLE_NOT_COMPLETED,
    MRPC_TABLE_BEST_BY_STAGE,
    MRPC_TABLE_SENSITIVITY,
    MRPC_TABLE_GRID,
    MRPC_TABLE_BAYES,
    MRPC_TABLE_IMPORTANCE,
    MRPC_TABLE_STATISTICS,
    MRPC_TABLE_RUNGS,        /* rungs.h: the objective per epoch, promoted and stopped runs */
    MRPC_TABLE_CONFIRMATION, /* confirmation.h: the confirm stage's answer.yaml */
    MRPC_TABLE_COUNT
} mrpc_report_table_id;

typedef struct mrpc_report_tables {
    mrpc_table t[MRPC_TABLE_COUNT];
} mrpc_report_tables;

/* Builds every table (empty tables keep their header). Fails only for lack of memory. */
mrpc_status mrpc_report_tables_build(const mrpc_analysis *a, mrpc_report_tables *out, mrpc_error *err);

/* Frees the tables. NULL is fine. */
void mrpc_report_tables_free(mrpc_report_tables *t);

/* Writes <dir>/<name>.csv and <dir>/<name>.md for every table (atomically, dir must exist). */
mrpc_status mrpc_report_tables_write(const mrpc_report_tables *t, const char *dir, mrpc_error *err);

#endif /* MRPC_ANALYSIS_TABLES_H */
