/*
 * record_owner.h — one run id, one record: which file under a study's runs/ is the
 * record of a run when several files hold the same run id (a backup such as
 * x.bak.h5, a copy, a rename). mrpc-optimize (the study's history) and mrpc-analyze
 * (the report) both apply this rule, so they count the same runs.
 *
 * The rule:
 *   1. A run id that a wave task plans (a row of some waves/<stage>/<nn>/tasks.tsv)
 *      belongs to the file at that task's `output` path (relative to the study
 *      directory; compared as the same file, by device and inode). Any other file
 *      holding that run id is a copy: it is reported and ignored, also when the task's
 *      own output is absent or unreadable (the task then has no record).
 *   2. A run id no task plans (a run made by hand): the file named <run_id>.h5 when
 *      there is one, else the first by path; the others are reported and ignored.
 *
 * Example:
 *
 *     mrpc_task_outputs tasks;
 *     mrpc_task_outputs_load(study_dir, &tasks, &err);
 *     mrpc_record_file files[n] = {{run_id, path, "runs/x.h5"}, ...};
 *     mrpc_record_owners(study_dir, &tasks, files, n, keep, report, ctx);
 *     mrpc_task_outputs_free(&tasks);
 */
#ifndef MRPC_WAVE_RECORD_OWNER_H
#define MRPC_WAVE_RECORD_OWNER_H

#include <stddef.h>

#include "status.h"

/* The run id and output path of one task row. */
typedef struct mrpc_task_output {
    char run_id[129];
    char output[256]; /* as in tasks.tsv: relative to the study directory (or absolute) */
} mrpc_task_output;

typedef struct mrpc_task_outputs {
    size_t            n;
    mrpc_task_output *items; /* sorted by run id, then in wave order */
} mrpc_task_outputs;

/*
 * Reads the run_id and output columns of every <study_dir>/waves/<stage>/<nn>/tasks.tsv
 * (stages by name, waves by number). Lenient on purpose: a file or row it cannot read is
 * skipped (validating waves is mrpc_wave_read's job; a report must come out of a damaged
 * study). No waves directory gives none. Fails only with MRPC_ERR_NOMEM (out empty).
 */
mrpc_status mrpc_task_outputs_load(const char *study_dir, mrpc_task_outputs *out, mrpc_error *err);

/* Frees and clears. NULL is fine. */
void mrpc_task_outputs_free(mrpc_task_outputs *t);

/* One readable record file. */
typedef struct mrpc_record_file {
    const char *run_id; /* the record's run_id attribute */
    const char *path;   /* as the caller opens it */
    const char *name;   /* for messages ("runs/x.bak.h5") */
} mrpc_record_file;

/*
 * Applies the rule above to files[0..n): sets keep[i] to 1 for the file that is the
 * record of its run id and to 0 for the others, and calls report(ctx, message) once for
 * each ignored file with a line that names it, its run id and why. `report` may be NULL.
 * Fails only with MRPC_ERR_NOMEM (keep is then all 1).
 */
mrpc_status mrpc_record_owners(const char *study_dir, const mrpc_task_outputs *tasks, const mrpc_record_file *files,
                               size_t n, int *keep, void (*report)(void *ctx, const char *message), void *ctx,
                               mrpc_error *err);

#endif /* MRPC_WAVE_RECORD_OWNER_H */
