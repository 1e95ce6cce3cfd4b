/*
 * emit.h — turning a plan into a wave directory: tasks.tsv, wave.yaml and the Slurm
 * array script wave.sbatch, written so that a crash at any point leaves either the
 * whole wave or none of it.
 *
 * Write order: everything goes into waves/<stage>/.<nn>.tmp/ (tasks.tsv, wave.yaml,
 * wave.sbatch, logs/), each file fsynced, then the directory is renamed to
 * waves/<stage>/<nn> in one step. A crash before the rename leaves only the
 * temporary directory, which the next `mrpc-optimize next` removes (it holds the
 * study lock, so no other optimizer is writing it) before planning the same wave
 * again: the plan is deterministic, so the re-emitted wave is byte for byte the one
 * that was lost. A wave directory without its temporary prefix is always complete.
 */
#ifndef MRPC_OPTIMIZE_EMIT_H
#define MRPC_OPTIMIZE_EMIT_H

#include "stages.h"
#include "status.h"
#include "study.h"

/* The three files of a wave as text (malloc'd). */
typedef struct mrpc_emit_files {
    char *tasks_tsv;
    char *wave_yaml;
    char *wave_sbatch;
} mrpc_emit_files;

void mrpc_emit_files_free(mrpc_emit_files *files);

/* "<study dir>/waves/<stage>/<nn>" for a plan (no trailing slash). Returns 0 when too long. */
int mrpc_emit_wave_dir(const mrpc_study *study, mrpc_stage_kind stage, int wave, char *out, size_t out_size);

/*
 * The Slurm array script of a wave: the one place its template lives. `bindir` holds
 * mrpc-train (absolute, shell-safe). Deterministic: no dates, no user names.
 */
mrpc_status mrpc_emit_sbatch(const mrpc_study *study, mrpc_stage_kind stage, int wave, size_t n_tasks,
                             const char *wave_dir, const char *bindir, char **out, mrpc_error *err);

/* Renders the three files of `plan` (which must have tasks). */
mrpc_status mrpc_emit_render(const mrpc_study *study, const mrpc_plan *plan, const char *bindir, mrpc_emit_files *out,
                             mrpc_error *err);

/*
 * Writes the files as the wave directory `wave_dir` (see the overview for the order).
 * Fails with MRPC_ERR_INVALID when the directory already exists. `crash_after`
 * (tests only, else NULL) names a file ("tasks.tsv", "wave.yaml", "wave.sbatch")
 * after whose writing the process ends at once with _exit(99), as a crash would.
 */
mrpc_status mrpc_emit_write(const char *wave_dir, const mrpc_emit_files *files, const char *crash_after,
                            mrpc_error *err);

/*
 * Removes waves/<stage>/.<nn>.tmp directories left by a crashed emit (call with the
 * study lock held). Returns the number removed in *n_removed (may be NULL).
 */
mrpc_status mrpc_emit_cleanup(const mrpc_study *study, size_t *n_removed, mrpc_error *err);

/* 1 when `path` is absolute and made of characters that need no quoting in a shell or an #SBATCH line. */
int mrpc_emit_path_is_safe(const char *path);

#endif /* MRPC_OPTIMIZE_EMIT_H */
