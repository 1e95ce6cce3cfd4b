/* emit.c — a plan as a wave directory: tasks.tsv, wave.yaml, wave.sbatch (see emit.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "emit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mrpc_version.h"

#include "fsutil.h"
#include "strbuf.h"
#include "strutil.h"
#include "wave.h"

void mrpc_emit_files_free(mrpc_emit_files *f) {
    if (!f) return;
    free(f->tasks_tsv);
    free(f->wave_yaml);
    free(f->wave_sbatch);
    memset(f, 0, sizeof *f);
}

int mrpc_emit_path_is_safe(const char *p) {
    if (!p || p[0] != '/') return 0;
    for (const char *c = p; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '/' ||
                 *c == '.' || *c == '_' || *c == '-' || *c == '+' || *c == ',' || *c == '@' || *c == '=' || *c == '~';
        if (!ok) return 0;
    }
    return strstr(p, "/../") == NULL;
}

int mrpc_emit_wave_dir(const mrpc_study *st, mrpc_stage_kind stage, int wave, char *out, size_t out_size) {
    int n = snprintf(out, out_size, "%s/waves/%s/%02d", st->dir, mrpc_stage_name(stage), wave);
    return n > 0 && (size_t)n < out_size;
}

/* ---- text -------------------------------------------------------------------------- */

/* ---- the Slurm script -------------------------------------------------------------- */

mrpc_status mrpc_emit_sbatch(const mrpc_study *st, mrpc_stage_kind stage, int wave, size_t n_tasks,
                             const char *wave_dir, const char *bindir, char **out, mrpc_error *err) {
    *out = NULL;
    const char *home = MRPC_SOURCE_DIR; /* the tree that holds slurm/task.sh */
    if (!mrpc_emit_path_is_safe(wave_dir) || !mrpc_emit_path_is_safe(bindir) || !mrpc_emit_path_is_safe(home)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, st->file, 0, 0, "slurm.bindir",
                              "\"%s\" and \"%s\" must be absolute paths of [A-Za-z0-9._+,@=~/-] to appear in a Slurm "
                              "script (set slurm.bindir to where mrpc-train is installed)", wave_dir, bindir);
    }
    if (n_tasks == 0) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "a wave needs tasks");
    const mrpc_slurm_settings *s = &st->slurm;
    mrpc_strbuf t = {0};
    mrpc_strbuf_appendf(&t, "#!/bin/bash\n");
    mrpc_strbuf_appendf(&t, "# Slurm array job for wave %02d of the %s stage of study %s, written by mrpc-optimize.\n", wave,
        mrpc_stage_name(stage), st->name);
    mrpc_strbuf_appendf(&t, "# Array task i runs mrpc-train on row task_id = i of tasks.tsv (next to this file).\n");
    mrpc_strbuf_appendf(&t, "# Submit with: sbatch %s/wave.sbatch\n#\n", wave_dir);
    mrpc_strbuf_appendf(&t, "# Job name: mrpc, study, stage, wave.\n#SBATCH --job-name=mrpc-%s-%s-%02d\n", st->name,
        mrpc_stage_short(stage), wave);
    if (s->throttle > 0) {
        mrpc_strbuf_appendf(&t, "# One array task per row of tasks.tsv, at most %lld running at once.\n", (long long)s->throttle);
        mrpc_strbuf_appendf(&t, "#SBATCH --array=0-%zu%%%lld\n", n_tasks - 1, (long long)s->throttle);
    } else {
        mrpc_strbuf_appendf(&t, "# One array task per row of tasks.tsv.\n#SBATCH --array=0-%zu\n", n_tasks - 1);
    }
    mrpc_strbuf_appendf(&t, "# One log per task: %%A is the array job id, %%a the task id.\n#SBATCH --output=%s/logs/%%A_%%a.out\n",
        wave_dir);
    mrpc_strbuf_appendf(&t, "# Wall-clock limit of one task.\n#SBATCH --time=%s\n", s->time);
    if (s->nodes_per_task > 1) {
        /* One run over several nodes: the same number of ranks (and GPUs) on each. */
        mrpc_strbuf_appendf(&t, "# One task (one run) spans %lld nodes with %lld MPI ranks on each (data-parallel training),\n"
            "# CPU cores for each rank.\n", (long long)s->nodes_per_task, (long long)(s->ranks_per_task / s->nodes_per_task));
        mrpc_strbuf_appendf(&t, "#SBATCH --nodes=%lld\n#SBATCH --ntasks-per-node=%lld\n#SBATCH --cpus-per-task=%lld\n",
            (long long)s->nodes_per_task, (long long)(s->ranks_per_task / s->nodes_per_task), (long long)s->cpus_per_task);
        if (s->gpus > 0) {
            mrpc_strbuf_appendf(&t, "# GPUs on each node of one task.\n#SBATCH --gpus-per-node=%lld\n",
                (long long)(s->gpus / s->nodes_per_task));
        }
    } else {
        mrpc_strbuf_appendf(&t, "# MPI ranks of one task (data-parallel training) and CPU cores for each.\n");
        mrpc_strbuf_appendf(&t, "#SBATCH --ntasks=%lld\n#SBATCH --cpus-per-task=%lld\n", (long long)s->ranks_per_task,
            (long long)s->cpus_per_task);
        if (s->gpus > 0) mrpc_strbuf_appendf(&t, "# GPUs of one task.\n#SBATCH --gpus=%lld\n", (long long)s->gpus);
    }
    if (s->partition[0]) mrpc_strbuf_appendf(&t, "# Partition.\n#SBATCH --partition=%s\n", s->partition);
    if (s->account[0]) mrpc_strbuf_appendf(&t, "# Account charged.\n#SBATCH --account=%s\n", s->account);
    mrpc_strbuf_appendf(&t, "# A preempted task is queued again and resumes from its checkpoint.\n#SBATCH --requeue\n");
    mrpc_strbuf_appendf(&t, "# USR1 to this script %lld s before the time limit, passed on to mrpc-train so it can checkpoint.\n",
        (long long)s->signal_seconds);
    mrpc_strbuf_appendf(&t, "#SBATCH --signal=B:USR1@%lld\n\n", (long long)s->signal_seconds);
    mrpc_strbuf_appendf(&t, "set -euo pipefail\n\n");
    mrpc_strbuf_appendf(&t, "if [[ -z \"${SLURM_ARRAY_TASK_ID:-}\" ]]; then\n");
    mrpc_strbuf_appendf(&t, "  echo \"wave.sbatch: not inside a Slurm array job; submit it with: sbatch $0\" >&2\n");
    mrpc_strbuf_appendf(&t, "  exit 2\n");
    mrpc_strbuf_appendf(&t, "fi\n\n");
    /* The task body (array range check, srun, signal forwarding, requeue after a
     * checkpoint) lives in one place, slurm/task.sh, shared with the stage scripts. */
    mrpc_strbuf_appendf(&t, "# The body of every task: slurm/task.sh of the mrpc-tune tree (MRPC_HOME) runs\n");
    mrpc_strbuf_appendf(&t, "# srun mrpc-train --wave <this wave> --task-id $SLURM_ARRAY_TASK_ID, forwards USR1/TERM\n");
    mrpc_strbuf_appendf(&t, "# so the trainer checkpoints, and requeues the task after a checkpoint.\n");
    mrpc_strbuf_appendf(&t, "# Exported so that it does not matter from which directory this script was submitted.\n");
    mrpc_strbuf_appendf(&t, "export MRPC_HOME=\"${MRPC_HOME:-%s}\"\n", home);
    mrpc_strbuf_appendf(&t, "export MRPC_BINDIR=\"${MRPC_BINDIR:-%s}\"\n", bindir);
    if (s->ranks_per_task > 1) {
        mrpc_strbuf_appendf(&t, "# The ranks of one run find each other through Slurm's PMI plugin (slurm.mpi).\n");
        mrpc_strbuf_appendf(&t, "export MRPC_SRUN_ARGS=\"${MRPC_SRUN_ARGS:---mpi=%s}\"\n", s->mpi);
    }
    mrpc_strbuf_appendf(&t, "exec \"$MRPC_HOME/slurm/task.sh\" %s\n", wave_dir);
    if (t.failed) {
        free(t.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    *out = t.data;
    return MRPC_OK;
}

/* ---- rendering --------------------------------------------------------------------- */

mrpc_status mrpc_emit_render(const mrpc_study *st, const mrpc_plan *plan, const char *bindir, mrpc_emit_files *out,
                             mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (plan->n_tasks == 0) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL, "empty plan");
    char wave_dir[MRPC_STUDY_PATH_MAX + 64];
    if (!mrpc_emit_wave_dir(st, plan->stage, plan->wave, wave_dir, sizeof wave_dir)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, st->dir, 0, 0, NULL, "study directory path too long");
    }
    mrpc_wave *w = calloc(1, sizeof *w);
    if (!w) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    mrpc_status r = MRPC_OK;
    w->tasks = calloc(plan->n_tasks, sizeof *w->tasks);
    if (!w->tasks) {
        r = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        goto done;
    }
    mrpc_str_copy(w->study, sizeof w->study, st->name);
    mrpc_str_copy(w->stage, sizeof w->stage, mrpc_stage_name(plan->stage));
    w->wave = plan->wave;
    mrpc_str_copy(w->study_dir, sizeof w->study_dir, st->dir);
    mrpc_str_copy(w->study_file, sizeof w->study_file, st->file);
    mrpc_str_copy(w->base_config, sizeof w->base_config, st->base_config);
    mrpc_str_copy(w->runs_dir, sizeof w->runs_dir, st->runs_dir);
    mrpc_str_copy(w->fixed_hash, sizeof w->fixed_hash, st->fixed_hash);
    size_t np = st->space.n_params;
    for (size_t k = 0; k < np; k++) mrpc_str_copy(w->keys[k], sizeof w->keys[0], st->space.params[k].name);
    w->n_keys = np;
    if (plan->with_seed) mrpc_str_copy(w->keys[w->n_keys++], sizeof w->keys[0], "seed");
    /* Successive halving (asha.h): where the runs pause, when any does (absent column = 0). */
    size_t pause_col = 0;
    for (size_t i = 0; i < plan->n_tasks && !pause_col; i++)
        if (plan->tasks[i].pause_after_epoch > 0) pause_col = w->n_keys;
    if (pause_col) mrpc_str_copy(w->keys[w->n_keys++], sizeof w->keys[0], "pause_after_epoch");
    /* The searched columns: the fixed_hash mrpc-train recomputes covers everything else (constants too). */
    w->has_searched = 1;
    for (size_t k = 0; k < np; k++)
        if (st->space.params[k].dist != MRPC_DIST_CONSTANT)
            mrpc_str_copy(w->searched[w->n_searched++], sizeof w->searched[0], st->space.params[k].name);
    for (size_t i = 0; i < plan->n_tasks; i++) {
        const mrpc_plan_task *pt = &plan->tasks[i];
        mrpc_wave_task *t = &w->tasks[i];
        t->task_id = (int64_t)i;
        mrpc_str_copy(t->run_id, sizeof t->run_id, pt->run_id);
        int n = snprintf(t->output, sizeof t->output, "%s/%s.h5", st->runs_dir, pt->run_id);
        if (n < 0 || (size_t)n >= sizeof t->output) {
            r = mrpc_error_set(err, MRPC_ERR_INVALID, NULL, 0, 0, "output", "run record path too long");
            goto done;
        }
        for (size_t k = 0; k < np; k++) mrpc_param_format(&st->space.params[k], pt->values[k], t->values[k], MRPC_WAVE_VALUE_MAX);
        if (plan->with_seed) snprintf(t->values[np], MRPC_WAVE_VALUE_MAX, "%lld", (long long)pt->seed);
        if (pause_col) snprintf(t->values[pause_col], MRPC_WAVE_VALUE_MAX, "%lld", (long long)pt->pause_after_epoch);
    }
    w->n_tasks = plan->n_tasks;
    if ((r = mrpc_wave_format_tasks(w, &out->tasks_tsv, err)) != MRPC_OK) goto done;
    if ((r = mrpc_wave_format_meta(w, &out->wave_yaml, err)) != MRPC_OK) goto done;
    r = mrpc_emit_sbatch(st, plan->stage, plan->wave, plan->n_tasks, wave_dir, bindir, &out->wave_sbatch, err);
done:
    mrpc_wave_clear(w);
    free(w);
    if (r != MRPC_OK) mrpc_emit_files_free(out);
    return r;
}

/* ---- writing ----------------------------------------------------------------------- */

/* Removes a directory with its files and subdirectories (depth-limited: a wave is two levels). */
static int remove_tree(const char *path, int depth) {
    DIR *d = opendir(path);
    if (!d) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat sb;
        if (lstat(child, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth <= 0 || remove_tree(child, depth - 1) != 0) rc = -1;
        } else if (unlink(child) != 0) {
            rc = -1;
        }
    }
    closedir(d);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

mrpc_status mrpc_emit_write(const char *wave_dir, const mrpc_emit_files *f, const char *crash_after, mrpc_error *err) {
    if (mrpc_path_exists(wave_dir)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, wave_dir, 0, 0, NULL, "the wave directory exists already");
    }
    mrpc_status r = mrpc_mkdir_parent(wave_dir, err);
    if (r != MRPC_OK) return r;
    const char *slash = strrchr(wave_dir, '/');
    char stage_dir[4096], tmp[4200], path[4300];
    snprintf(stage_dir, sizeof stage_dir, "%.*s", (int)(slash - wave_dir), wave_dir);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", stage_dir, slash + 1);
    if (mrpc_path_exists(tmp) && remove_tree(tmp, 2) != 0) {
        return mrpc_error_set(err, MRPC_ERR_IO, tmp, 0, 0, NULL, "cannot remove a stale temporary wave directory");
    }
    snprintf(path, sizeof path, "%s/logs", tmp);
    if ((r = mrpc_mkdir_p(path, err)) != MRPC_OK) return r;
    struct { const char *name; const char *text; } files[3] = {
        {"tasks.tsv", f->tasks_tsv}, {"wave.yaml", f->wave_yaml}, {"wave.sbatch", f->wave_sbatch}};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i].name);
        r = mrpc_file_write_atomic(path, files[i].text, strlen(files[i].text), err);
        if (r != MRPC_OK) {
            remove_tree(tmp, 2);
            return r;
        }
        if (crash_after && strcmp(crash_after, files[i].name) == 0) _exit(99);
    }
    fsync_dir(tmp);
    if (rename(tmp, wave_dir) != 0) {
        int e = errno;
        remove_tree(tmp, 2);
        return mrpc_error_set(err, MRPC_ERR_IO, wave_dir, 0, 0, NULL, "cannot rename the new wave into place: %s", strerror(e));
    }
    fsync_dir(stage_dir);
    return MRPC_OK;
}

static int is_tmp_wave(const char *name) {
    size_t n = strlen(name);
    return n > 5 && name[0] == '.' && strcmp(name + n - 4, ".tmp") == 0;
}

mrpc_status mrpc_emit_cleanup(const mrpc_study *st, size_t *n_removed, mrpc_error *err) {
    size_t removed = 0;
    for (int stage = 0; stage < MRPC_STAGE_COUNT; stage++) {
        char sdir[MRPC_STUDY_PATH_MAX + 64];
        snprintf(sdir, sizeof sdir, "%s/waves/%s", st->dir, mrpc_stage_name((mrpc_stage_kind)stage));
        DIR *d = opendir(sdir);
        if (!d) continue;
        struct dirent *e;
        char names[64][256];
        size_t n = 0;
        while ((e = readdir(d)) != NULL && n < 64)
            if (is_tmp_wave(e->d_name)) mrpc_str_copy(names[n++], sizeof names[0], e->d_name);
        closedir(d);
        for (size_t i = 0; i < n; i++) {
            char path[MRPC_STUDY_PATH_MAX + 400];
            snprintf(path, sizeof path, "%s/%.255s", sdir, names[i]);
            if (remove_tree(path, 2) != 0) {
                if (n_removed) *n_removed = removed;
                return mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot remove a temporary wave directory left by a crash");
            }
            removed++;
        }
    }
    if (n_removed) *n_removed = removed;
    return MRPC_OK;
}
