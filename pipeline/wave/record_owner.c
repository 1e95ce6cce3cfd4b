/* record_owner.c — one run id, one record: the rule shared by mrpc-optimize and mrpc-analyze
 * (see record_owner.h). */
#define _POSIX_C_SOURCE 200809L
#include "record_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "strutil.h"

#define TASKS_MAX_BYTES (64u << 20)

/* ---- tasks.tsv: run_id and output ----------------------------------------------------- */

typedef struct ordered_output {
    mrpc_task_output out;
    size_t           order; /* position in wave order, for a stable sort */
} ordered_output;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Wave directories "00", "01", ..., "100": shorter first, then by digits. */
static int cmp_wave(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static int all_digits(const char *s) {
    if (!s[0]) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

typedef struct outputs_acc {
    ordered_output *items;
    size_t          n, cap;
} outputs_acc;

static int acc_add(outputs_acc *a, const char *run_id, const char *output) {
    if (!run_id[0] || !output[0] || strlen(run_id) >= sizeof a->items[0].out.run_id ||
        strlen(output) >= sizeof a->items[0].out.output)
        return 1; /* not a usable row: skipped */
    if (a->n == a->cap) {
        size_t nc            = a->cap ? 2 * a->cap : 64;
        ordered_output *more = realloc(a->items, nc * sizeof *more);
        if (!more) return 0;
        a->items = more;
        a->cap   = nc;
    }
    ordered_output *o = &a->items[a->n];
    mrpc_str_copy(o->out.run_id, sizeof o->out.run_id, run_id);
    mrpc_str_copy(o->out.output, sizeof o->out.output, output);
    o->order = a->n++;
    return 1;
}

/* Adds the rows of one tasks.tsv; returns 0 only when memory runs out. */
static int read_tasks_file(const char *path, outputs_acc *a) {
    char *text  = NULL;
    size_t size = 0;
    if (mrpc_file_read_all(path, TASKS_MAX_BYTES, &text, &size, NULL) != MRPC_OK) return 1; /* skipped */
    enum { MAX_COLS = 256 };
    char *f[MAX_COLS];
    int col_run = -1, col_out = -1, header = 1, ok = 1;
    for (char *line = text; line && *line && ok;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') line[len - 1] = '\0';
        size_t n = line[0] ? mrpc_split_tabs(line, f, MAX_COLS) : 0;
        if (header) {
            header = 0;
            for (size_t c = 0; c < n; c++) {
                if (strcmp(f[c], "run_id") == 0) col_run = (int)c;
                if (strcmp(f[c], "output") == 0) col_out = (int)c;
            }
            if (col_run < 0 || col_out < 0) break; /* not a task list we can use */
        } else if (n > (size_t)col_run && n > (size_t)col_out) {
            ok = acc_add(a, f[col_run], f[col_out]);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return ok;
}

static int cmp_output(const void *pa, const void *pb) {
    const ordered_output *a = pa, *b = pb;
    int c = strcmp(a->out.run_id, b->out.run_id);
    if (c) return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

mrpc_status mrpc_task_outputs_load(const char *study_dir, mrpc_task_outputs *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    char waves[4096];
    if (snprintf(waves, sizeof waves, "%s/waves", study_dir) >= (int)sizeof waves) return MRPC_OK;
    char **stages;
    size_t n_stages;
    mrpc_status st = mrpc_list_dir(waves, NULL, cmp_str, &stages, &n_stages, err);
    if (st != MRPC_OK) return st;
    outputs_acc acc = {0};
    for (size_t i = 0; i < n_stages && st == MRPC_OK; i++) {
        char sdir[4096];
        if (snprintf(sdir, sizeof sdir, "%s/%s", waves, stages[i]) >= (int)sizeof sdir) continue;
        char **nums;
        size_t n_nums;
        if ((st = mrpc_list_dir(sdir, NULL, cmp_wave, &nums, &n_nums, err)) != MRPC_OK) break;
        for (size_t k = 0; k < n_nums && st == MRPC_OK; k++) {
            char path[4096];
            if (!all_digits(nums[k]) || snprintf(path, sizeof path, "%s/%s/tasks.tsv", sdir, nums[k]) >= (int)sizeof path)
                continue;
            if (!read_tasks_file(path, &acc)) st = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
        }
        mrpc_names_free(nums, n_nums);
    }
    mrpc_names_free(stages, n_stages);
    if (st == MRPC_OK && acc.n) {
        qsort(acc.items, acc.n, sizeof *acc.items, cmp_output);
        out->items = malloc(acc.n * sizeof *out->items);
        if (!out->items) {
            st = mrpc_error_set(err, MRPC_ERR_NOMEM, study_dir, 0, 0, NULL, "out of memory");
        } else {
            for (size_t i = 0; i < acc.n; i++)
                out->items[i] = acc.items[i].out;
            out->n = acc.n;
        }
    }
    free(acc.items);
    return st;
}

void mrpc_task_outputs_free(mrpc_task_outputs *t) {
    if (!t) return;
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* ---- the rule ---------------------------------------------------------------------------- */

typedef struct file_ref {
    const mrpc_record_file *f;
    size_t                  i;
} file_ref;

static int cmp_file(const void *pa, const void *pb) {
    const file_ref *a = pa, *b = pb;
    int c = strcmp(a->f->run_id, b->f->run_id);
    if (c) return c;
    return strcmp(a->f->path, b->f->path);
}

/* 1 when a and b name the same file (the same text, or the same device and inode). */
static int same_file(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return 1;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const char *base_name(const char *path) {
    const char *p = strrchr(path, '/');
    return p ? p + 1 : path;
}

/* The first task output of `run_id` (tasks are sorted by run id), or NULL. */
static const mrpc_task_output *first_claim(const mrpc_task_outputs *t, const char *run_id) {
    size_t lo = 0, hi = t ? t->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->items[mid].run_id, run_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return t && lo < t->n && strcmp(t->items[lo].run_id, run_id) == 0 ? &t->items[lo] : NULL;
}

mrpc_status mrpc_record_owners(const char *study_dir, const mrpc_task_outputs *tasks, const mrpc_record_file *files,
                               size_t n, int *keep, void (*report)(void *ctx, const char *message), void *ctx,
                               mrpc_error *err) {
    for (size_t i = 0; i < n; i++)
        keep[i] = 1;
    if (n == 0) return MRPC_OK;
    file_ref *refs = malloc(n * sizeof *refs);
    if (!refs) return mrpc_error_set(err, MRPC_ERR_NOMEM, study_dir, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        refs[i].f = &files[i];
        refs[i].i = i;
    }
    qsort(refs, n, sizeof *refs, cmp_file);
    char msg[2048];
    for (size_t g0 = 0, g1; g0 < n; g0 = g1) {
        const char *run_id = refs[g0].f->run_id;
        for (g1 = g0 + 1; g1 < n && strcmp(refs[g1].f->run_id, run_id) == 0; g1++) {
        }
        const mrpc_task_output *claim = first_claim(tasks, run_id);
        if (claim) {
            /* Rule 1: the task's own output path; with several tasks (retries), the last match. */
            size_t owner          = n;
            const char *planned   = claim->output;
            for (const mrpc_task_output *c = claim; c < tasks->items + tasks->n && strcmp(c->run_id, run_id) == 0;
                 c++) {
                char target[4096];
                if (c->output[0] == '/')
                    mrpc_str_copy(target, sizeof target, c->output);
                else if (snprintf(target, sizeof target, "%s/%s", study_dir, c->output) >= (int)sizeof target)
                    continue;
                for (size_t j = g0; j < g1; j++) {
                    if (same_file(refs[j].f->path, target)) {
                        owner   = j;
                        planned = c->output;
                    }
                }
            }
            for (size_t j = g0; j < g1; j++) {
                if (j == owner) continue;
                keep[refs[j].i] = 0;
                if (!report) continue;
                if (owner < n)
                    snprintf(msg, sizeof msg,
                             "ignored %s: run id %s belongs to %s, the output of its wave task (one record per run "
                             "id; this is a copy)",
                             refs[j].f->name, run_id, refs[owner].f->name);
                else
                    snprintf(msg, sizeof msg,
                             "ignored %s: run id %s belongs to its wave task's output %s, which holds no readable "
                             "record of it (one record per run id; this is a copy)",
                             refs[j].f->name, run_id, planned);
                report(ctx, msg);
            }
        } else if (g1 - g0 > 1) {
            /* Rule 2: the file named after the run id, else the first by path. */
            size_t owner = g0;
            for (size_t j = g0; j < g1; j++) {
                const char *b = base_name(refs[j].f->path);
                size_t lr     = strlen(run_id);
                if (strncmp(b, run_id, lr) == 0 && strcmp(b + lr, ".h5") == 0) {
                    owner = j;
                    break;
                }
            }
            for (size_t j = g0; j < g1; j++) {
                if (j == owner) continue;
                keep[refs[j].i] = 0;
                if (!report) continue;
                snprintf(msg, sizeof msg,
                         "ignored %s: run id %s is also in %s (one record per run id: the file named after the run "
                         "id, else the first by name)",
                         refs[j].f->name, run_id, refs[owner].f->name);
                report(ctx, msg);
            }
        }
    }
    free(refs);
    return MRPC_OK;
}
