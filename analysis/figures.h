/*
 * figures.h — the report's figures, each written as PNG and SVG through plots.h:
 *
 *   parallel_coordinates   every usable run as a polyline over the varied parameters
 *                          (log axes for log-scaled ones) and the objective, coloured by
 *                          the objective; failed/diverged runs as grey dashed lines
 *   training_curves        best run and baseline: loss per step (raw and smoothed),
 *                          learning rate per step, accuracy per epoch
 *   sensitivity_effects    stage 1: change of the objective per level and parameter as
 *                          horizontal bars, over the +-1 and +-2 noise bands
 *   grid_heatmaps          stage 2: mean objective over each pair of grid parameters
 *   optimization_progress  stage 3 best-so-far against run index, beside the grid stage's
 *                          and the random-search reference
 *   rungs                  the objective per epoch of every run, promoted vs stopped (rungs.h)
 *
 * A figure that has nothing to show (no grid stage, ...) is skipped with a reason.
 */
#ifndef MRPC_ANALYSIS_FIGURES_H
#define MRPC_ANALYSIS_FIGURES_H

#include <stddef.h>

#include "analysis.h"
#include "status.h"

#define MRPC_FIGURES_MAX 8

typedef struct mrpc_figure {
    char name[64];     /* file stem: <dir>/<name>.png and .svg */
    char title[160];
    char caption[1024];
    int  written;
    char skipped[256]; /* why it was not drawn, when written == 0 */
    int  width, height;
} mrpc_figure;

typedef struct mrpc_figures {
    size_t      n;
    mrpc_figure f[MRPC_FIGURES_MAX];
} mrpc_figures;

/* Draws every figure into `dir` (which must exist). Fails when a file cannot be written. */
mrpc_status mrpc_figures_write(const mrpc_analysis *a, const char *dir, mrpc_figures *out, mrpc_error *err);

#endif /* MRPC_ANALYSIS_FIGURES_H */
