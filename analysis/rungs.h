/*
 * rungs.h — the rungs view of mrpc-analyze: the objective after every epoch of every run
 * (the record's /eval/epoch and /eval/accuracy or /eval/f1), and what successive halving
 * did with it:
 *
 *   full      planned to the end from the start (no pause_after_epoch, or 0)
 *   promoted  paused at a rung and continued by a later wave: its tasks.tsv listings
 *             have a larger pause_after_epoch, or 0, after a smaller one
 *   stopped   paused at a rung (record status "paused") and never promoted: its
 *             partial curve is all there is
 *   failed    failed, diverged, or ended without a final record
 *
 * The listings come from waves/<stage>/<nn>/tasks.tsv (column pause_after_epoch); a
 * retry lists a run again with the same value, which is no promotion.
 *
 * Written as the table tables/rungs.{csv,md} (one row per run: class, epochs done, the
 * objective in points at each epoch) and the figure rungs.{png,svg} (one curve per run
 * over epochs; stopped runs grey dashed ending in a cross, promoted runs blue, full runs
 * pale).
 */
#ifndef MRPC_ANALYSIS_RUNGS_H
#define MRPC_ANALYSIS_RUNGS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "figures.h"
#include "runset.h"
#include "status.h"
#include "table.h"

typedef enum mrpc_rung_class {
    MRPC_RUNG_FULL = 0,
    MRPC_RUNG_PROMOTED,
    MRPC_RUNG_STOPPED,
    MRPC_RUNG_FAILED,
    MRPC_RUNG_CLASS_COUNT
} mrpc_rung_class;

/* "full", "promoted", "stopped", "failed". */
const char *mrpc_rung_class_str(mrpc_rung_class c);

typedef struct mrpc_rungs_run {
    size_t          run;           /* index into the run set */
    mrpc_rung_class cls;
    int             listings;      /* waves that listed it */
    int64_t         first_pause;   /* pause_after_epoch of its first listing (0 = to the end) */
    int64_t         last_pause;    /* of its last listing */
    size_t          n;             /* evaluations in its record */
} mrpc_rungs_run;

typedef struct mrpc_rungs {
    size_t          n;             /* runs with at least one evaluation, in run-set order */
    mrpc_rungs_run *runs;
    int64_t         max_epoch;
    size_t          count[MRPC_RUNG_CLASS_COUNT];
    int             fidelity;      /* some wave has a pause_after_epoch column with a value > 0 */
} mrpc_rungs;

/* Computes the view (reads the study's tasks.tsv files). MRPC_ERR_NOMEM only. */
mrpc_status mrpc_rungs_compute(const mrpc_runset *s, mrpc_rungs *out, mrpc_error *err);

void mrpc_rungs_free(mrpc_rungs *g);

/* The table "rungs" (initialises t). */
void mrpc_rungs_table(const mrpc_runset *s, mrpc_table *t);

/* Fills f and draws the figure "rungs" into dir (skipped, with a reason, when no run has an evaluation). */
mrpc_status mrpc_rungs_figure(const mrpc_analysis *a, const char *dir, mrpc_figure *f, mrpc_error *err);

#endif /* MRPC_ANALYSIS_RUNGS_H */
