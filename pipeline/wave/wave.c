/* wave.c — reading, validating and writing a wave's tasks.tsv and wave.yaml (see wave.h). */
#include "wave.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strbuf.h"
#include "strutil.h"
#include "yaml_doc.h"

#define TASKS_MAX_BYTES ((size_t)64 << 20)

static const char *const fixed_columns[3] = {"task_id", "run_id", "output"};

void mrpc_wave_clear(mrpc_wave *w) {
    if (!w) return;
    free(w->tasks);
    memset(w, 0, sizeof *w);
}

/* ---- growable text ----------------------------------------------------------------- */

/* ---- cell validation --------------------------------------------------------------- */

/* A key column must be a hyperparameter of the run config, or a control of the run such as
 * pause_after_epoch (nothing else may come from a task row). */
static mrpc_status check_key(const char *name, long line, long col, const char *key, mrpc_error *err) {
    const mrpc_config_key *k = mrpc_run_config_find_key(key);
    if (!k) return mrpc_error_set(err, MRPC_ERR_INVALID, name, line, col, key, "unknown run-config key");
    if (!(k->flags & (MRPC_CONFIG_HPARAM | MRPC_CONFIG_CONTROL)) || (k->type != MRPC_CONFIG_INT && k->type != MRPC_CONFIG_FLOAT)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, line, col, key,
                              "not a numeric hyperparameter; a task may only set hyperparameters (and pause_after_epoch)");
    }
    return MRPC_OK;
}

/* Validates one task (all cells) as the reader would. `scratch` is a run config to try values on. */
static mrpc_status check_task(const char *name, const mrpc_wave *w, const mrpc_wave_task *t, size_t row,
                              const long *cols, mrpc_run_config *scratch, mrpc_error *err) {
    long line = t->line;
    if (t->task_id != (int64_t)row) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[0], "task_id",
                              "task ids must count 0, 1, 2, ... in row order: expected %zu, got %lld", row,
                              (long long)t->task_id);
    }
    if (!mrpc_name_is_safe(t->run_id)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[1], "run_id",
                              "\"%s\" is not a safe run id (1-128 of [A-Za-z0-9._-], not starting with . or -)",
                              t->run_id);
    }
    if (!mrpc_relpath_is_safe(t->output)) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[2], "output",
                              "\"%s\" is not a safe relative path (safe names joined by '/', no '..')", t->output);
    }
    for (size_t k = 0; k < w->n_keys; k++) {
        mrpc_status s = mrpc_run_config_set(scratch, w->keys[k], t->values[k], name, line, cols[3 + k], err);
        if (s != MRPC_OK) return s;
    }
    return MRPC_OK;
}

static mrpc_status check_unique(const char *name, const mrpc_wave *w, size_t row, const long *cols, mrpc_error *err) {
    const mrpc_wave_task *t = &w->tasks[row];
    for (size_t i = 0; i < row; i++) {
        if (strcmp(w->tasks[i].run_id, t->run_id) == 0) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, name, t->line, cols[1], "run_id",
                                  "duplicate run id \"%s\" (also on line %ld)", t->run_id, w->tasks[i].line);
        }
        if (strcmp(w->tasks[i].output, t->output) == 0) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, name, t->line, cols[2], "output",
                                  "duplicate output \"%s\" (also on line %ld)", t->output, w->tasks[i].line);
        }
    }
    return MRPC_OK;
}

/* ---- tasks.tsv --------------------------------------------------------------------- */

/* Splits line [p, end) at tabs into at most max cells (pointers into buf); returns the count, or max + 1 when more. */
static size_t split_cells(char *buf, char **cells, long *cols, size_t max) {
    size_t n = 0;
    char *p = buf;
    for (;;) {
        if (n == max) return max + 1;
        cells[n] = p;
        cols[n] = (long)(p - buf) + 1;
        n++;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

mrpc_status mrpc_wave_parse_tasks(const char *name, const char *data, size_t size, mrpc_wave *out, mrpc_error *err) {
    free(out->tasks);
    out->tasks = NULL;
    out->n_tasks = 0;
    out->n_keys = 0;
    if (size > TASKS_MAX_BYTES) return mrpc_error_set(err, MRPC_ERR_INVALID, name, 0, 0, NULL, "file is too large");
    if (memchr(data, '\0', size)) return mrpc_error_set(err, MRPC_ERR_PARSE, name, 0, 0, NULL, "file contains a NUL byte");
    if (size == 0) return mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, 1, NULL, "empty file: expected a header line");

    mrpc_status s = MRPC_OK;
    char *line_buf = malloc(size + 1);
    mrpc_run_config *scratch = malloc(sizeof *scratch);
    size_t cap = 0;
    if (!line_buf || !scratch) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
        goto fail;
    }
    mrpc_run_config_defaults(scratch);

    const char *p = data, *end = data + size;
    long line = 0;
    char *cells[3 + MRPC_WAVE_MAX_KEYS];
    long cols[3 + MRPC_WAVE_MAX_KEYS];
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        memcpy(line_buf, p, len);
        line_buf[len] = '\0';
        p = nl ? nl + 1 : end;
        char *cr = strchr(line_buf, '\r');
        if (cr) {
            s = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, (long)(cr - line_buf) + 1, NULL,
                               "carriage return in line (tasks.tsv uses \\n line ends)");
            goto fail;
        }
        if (len == 0) {
            s = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, 1, NULL, "empty line");
            goto fail;
        }
        size_t max = line == 1 ? 3 + MRPC_WAVE_MAX_KEYS : 3 + out->n_keys;
        size_t n = split_cells(line_buf, cells, cols, max);
        if (line == 1) {
            if (n > max) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, 0, NULL, "more than %d hyperparameter columns",
                                   MRPC_WAVE_MAX_KEYS);
                goto fail;
            }
            for (size_t c = 0; c < 3; c++) {
                if (c >= n || strcmp(cells[c], fixed_columns[c]) != 0) {
                    s = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, c < n ? cols[c] : 0, NULL,
                                       "the header must start with task_id, run_id, output (column %zu is \"%s\")",
                                       c + 1, c < n ? cells[c] : "");
                    goto fail;
                }
            }
            for (size_t c = 3; c < n; c++) {
                if (strlen(cells[c]) >= sizeof out->keys[0]) {
                    s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[c], NULL, "column name too long");
                    goto fail;
                }
                s = check_key(name, line, cols[c], cells[c], err);
                if (s != MRPC_OK) goto fail;
                for (size_t o = 3; o < c; o++) {
                    if (strcmp(cells[o], cells[c]) == 0) {
                        s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[c], cells[c], "duplicate column");
                        goto fail;
                    }
                }
                mrpc_str_copy(out->keys[c - 3], sizeof out->keys[0], cells[c]);
            }
            out->n_keys = n - 3;
            continue;
        }
        if (n != 3 + out->n_keys) {
            s = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, 0, NULL, "expected %zu tab-separated columns, found %s%zu",
                               3 + out->n_keys, n > max ? "more than " : "", n > max ? max : n);
            goto fail;
        }
        if (out->n_tasks >= MRPC_WAVE_MAX_TASKS) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, 0, NULL, "more than %d tasks", MRPC_WAVE_MAX_TASKS);
            goto fail;
        }
        if (out->n_tasks == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            mrpc_wave_task *nt = realloc(out->tasks, ncap * sizeof *nt);
            if (!nt) {
                s = mrpc_error_set(err, MRPC_ERR_NOMEM, name, line, 0, NULL, "out of memory");
                goto fail;
            }
            out->tasks = nt;
            cap = ncap;
        }
        mrpc_wave_task *t = &out->tasks[out->n_tasks];
        memset(t, 0, sizeof *t);
        t->line = line;
        /* Plain decimal digits only ("0", "17"; not "-0", "+1", "007"): one spelling per id. */
        size_t id_len = strlen(cells[0]);
        if (id_len == 0 || id_len > 9 || strspn(cells[0], "0123456789") != id_len || (id_len > 1 && cells[0][0] == '0') ||
            !mrpc_parse_i64(cells[0], &t->task_id)) {
            s = mrpc_error_set(err, MRPC_ERR_PARSE, name, line, cols[0], "task_id", "expected an integer, got \"%s\"",
                               cells[0]);
            goto fail;
        }
        if (!mrpc_str_copy(t->run_id, sizeof t->run_id, cells[1])) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[1], "run_id", "longer than 128 characters");
            goto fail;
        }
        if (!mrpc_str_copy(t->output, sizeof t->output, cells[2])) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[2], "output", "path too long");
            goto fail;
        }
        for (size_t k = 0; k < out->n_keys; k++) {
            if (!mrpc_str_copy(t->values[k], MRPC_WAVE_VALUE_MAX, cells[3 + k])) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line, cols[3 + k], out->keys[k], "value too long");
                goto fail;
            }
        }
        s = check_task(name, out, t, out->n_tasks, cols, scratch, err);
        if (s != MRPC_OK) goto fail;
        s = check_unique(name, out, out->n_tasks, cols, err);
        if (s != MRPC_OK) goto fail;
        out->n_tasks++;
    }
    if (out->n_tasks == 0) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, name, line + 1, 0, NULL, "no tasks after the header");
        goto fail;
    }
    free(line_buf);
    free(scratch);
    return MRPC_OK;
fail:
    free(line_buf);
    free(scratch);
    free(out->tasks);
    out->tasks = NULL;
    out->n_tasks = 0;
    out->n_keys = 0;
    return s;
}

mrpc_status mrpc_wave_format_tasks(const mrpc_wave *w, char **out, mrpc_error *err) {
    *out = NULL;
    if (w->n_tasks == 0) return mrpc_error_set(err, MRPC_ERR_INVALID, "tasks.tsv", 0, 0, NULL, "a wave needs tasks");
    if (w->n_keys > MRPC_WAVE_MAX_KEYS) return mrpc_error_set(err, MRPC_ERR_INVALID, "tasks.tsv", 1, 0, NULL, "too many columns");
    mrpc_run_config *scratch = malloc(sizeof *scratch);
    if (!scratch) return mrpc_error_set(err, MRPC_ERR_NOMEM, "tasks.tsv", 0, 0, NULL, "out of memory");
    mrpc_run_config_defaults(scratch);
    mrpc_strbuf t = {0};
    long cols[3 + MRPC_WAVE_MAX_KEYS] = {0};
    mrpc_status s = MRPC_OK;
    mrpc_strbuf_appendf(&t, "task_id\trun_id\toutput");
    for (size_t k = 0; k < w->n_keys; k++) {
        s = check_key("tasks.tsv", 1, 0, w->keys[k], err);
        if (s != MRPC_OK) goto fail;
        for (size_t o = 0; o < k; o++) {
            if (strcmp(w->keys[o], w->keys[k]) == 0) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, "tasks.tsv", 1, 0, w->keys[k], "duplicate column");
                goto fail;
            }
        }
        mrpc_strbuf_appendf(&t, "\t%s", w->keys[k]);
    }
    mrpc_strbuf_appendf(&t, "\n");
    for (size_t i = 0; i < w->n_tasks; i++) {
        mrpc_wave_task task = w->tasks[i];
        task.line = (long)i + 2;
        s = check_task("tasks.tsv", w, &task, i, cols, scratch, err);
        if (s == MRPC_OK) s = check_unique("tasks.tsv", w, i, cols, err);
        if (s != MRPC_OK) goto fail;
        mrpc_strbuf_appendf(&t, "%lld\t%s\t%s", (long long)task.task_id, task.run_id, task.output);
        for (size_t k = 0; k < w->n_keys; k++) mrpc_strbuf_appendf(&t, "\t%s", task.values[k]);
        mrpc_strbuf_appendf(&t, "\n");
    }
    if (t.failed) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, "tasks.tsv", 0, 0, NULL, "out of memory");
        goto fail;
    }
    free(scratch);
    *out = t.data;
    return MRPC_OK;
fail:
    free(scratch);
    free(t.data);
    return s;
}

/* ---- wave.yaml --------------------------------------------------------------------- */

/* A double-quoted YAML scalar: printable ASCII as is, \" \\ and \xNN for the rest. */
static void add_quoted(mrpc_strbuf *t, const char *s) {
    mrpc_strbuf_appendf(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') mrpc_strbuf_appendf(t, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f) mrpc_strbuf_appendf(t, "\\x%02x", *p);
        else mrpc_strbuf_appendf(t, "%c", *p);
    }
    mrpc_strbuf_appendf(t, "\"");
}

static int is_hex16(const char *s) {
    if (strlen(s) != 16) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

mrpc_status mrpc_wave_format_meta(const mrpc_wave *w, char **out, mrpc_error *err) {
    *out = NULL;
    if (!mrpc_name_is_safe(w->study) || !mrpc_name_is_safe(w->stage) || w->wave < 0 ||
        !mrpc_relpath_is_safe(w->runs_dir) || !is_hex16(w->fixed_hash) || w->study_dir[0] != '/' ||
        w->base_config[0] != '/') {
        return mrpc_error_set(err, MRPC_ERR_INVALID, "wave.yaml", 0, 0, NULL,
                              "incomplete wave metadata (study, stage, wave, absolute paths, runs_dir, fixed_hash)");
    }
    mrpc_strbuf t = {0};
    mrpc_strbuf_appendf(&t, "# Wave metadata, written by mrpc-optimize; the tasks are in tasks.tsv.\n");
    mrpc_strbuf_appendf(&t, "format: \"%s\"\nformat_version: %d\n", MRPC_WAVE_FORMAT, MRPC_WAVE_FORMAT_VERSION);
    mrpc_strbuf_appendf(&t, "study: %s\nstage: %s\nwave: %d\n", w->study, w->stage, w->wave);
    mrpc_strbuf_appendf(&t, "study_dir: ");
    add_quoted(&t, w->study_dir);
    mrpc_strbuf_appendf(&t, "\nstudy_file: ");
    add_quoted(&t, w->study_file);
    mrpc_strbuf_appendf(&t, "\nbase_config: ");
    add_quoted(&t, w->base_config);
    mrpc_strbuf_appendf(&t, "\nruns_dir: %s\nfixed_hash: \"%s\"\nn_tasks: %zu\ncolumns: [task_id, run_id, output", w->runs_dir,
             w->fixed_hash, w->n_tasks);
    for (size_t k = 0; k < w->n_keys; k++) mrpc_strbuf_appendf(&t, ", %s", w->keys[k]);
    mrpc_strbuf_appendf(&t, "]\n");
    if (w->has_searched) {
        mrpc_strbuf_appendf(&t, "# Columns that vary between runs; fixed_hash covers the other settings (not the seed).\n");
        mrpc_strbuf_appendf(&t, "searched: [");
        for (size_t k = 0; k < w->n_searched; k++) mrpc_strbuf_appendf(&t, "%s%s", k ? ", " : "", w->searched[k]);
        mrpc_strbuf_appendf(&t, "]\n");
    }
    if (t.failed) {
        free(t.data);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, "wave.yaml", 0, 0, NULL, "out of memory");
    }
    *out = t.data;
    return MRPC_OK;
}

static mrpc_status meta_str(const mrpc_yaml_doc *doc, const yaml_node_t *root, const char *key, char *out,
                            size_t size, mrpc_error *err) {
    const yaml_node_t *n = mrpc_yaml_map_get(doc, root, key);
    if (!n) return mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, key, "missing key");
    return mrpc_yaml_get_str(doc, n, key, out, size, err);
}

/* Metadata as parsed, with the declared task count and columns kept apart from the tasks. */
typedef struct wave_meta {
    mrpc_wave w;
    int64_t   n_tasks;
} wave_meta;

static mrpc_status parse_meta(const char *name, const char *data, size_t size, wave_meta *m, mrpc_error *err) {
    mrpc_yaml_doc *doc = NULL;
    mrpc_status s = mrpc_yaml_load_string(name, data, size, &doc, err);
    if (s != MRPC_OK) return s;
    const yaml_node_t *root = mrpc_yaml_root(doc);
    mrpc_wave *w = &m->w;
    char format[64];
    int64_t version = 0, wave = 0;
    if (!root || root->type != YAML_MAPPING_NODE) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, name, 1, 1, NULL, "expected a mapping");
        goto done;
    }
    if ((s = meta_str(doc, root, "format", format, sizeof format, err)) != MRPC_OK) goto done;
    if (strcmp(format, MRPC_WAVE_FORMAT) != 0) {
        s = mrpc_yaml_error_at(doc, mrpc_yaml_map_get(doc, root, "format"), err, MRPC_ERR_INVALID, "format",
                               "not a wave file (format \"%s\")", format);
        goto done;
    }
    const yaml_node_t *n = mrpc_yaml_map_get(doc, root, "format_version");
    if (!n) { s = mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, "format_version", "missing key"); goto done; }
    if ((s = mrpc_yaml_get_i64(doc, n, "format_version", &version, err)) != MRPC_OK) goto done;
    if (version != MRPC_WAVE_FORMAT_VERSION) {
        s = mrpc_yaml_error_at(doc, n, err, MRPC_ERR_UNSUPPORTED, "format_version",
                               "wave format version %lld; this build reads version %d (re-emit it with this mrpc-optimize)",
                               (long long)version, MRPC_WAVE_FORMAT_VERSION);
        goto done;
    }
    if ((s = meta_str(doc, root, "study", w->study, sizeof w->study, err)) != MRPC_OK) goto done;
    if ((s = meta_str(doc, root, "stage", w->stage, sizeof w->stage, err)) != MRPC_OK) goto done;
    n = mrpc_yaml_map_get(doc, root, "wave");
    if (!n) { s = mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, "wave", "missing key"); goto done; }
    if ((s = mrpc_yaml_get_i64(doc, n, "wave", &wave, err)) != MRPC_OK) goto done;
    if (wave < 0 || wave > 9999) {
        s = mrpc_yaml_error_at(doc, n, err, MRPC_ERR_INVALID, "wave", "must be 0..9999");
        goto done;
    }
    w->wave = (int)wave;
    if ((s = meta_str(doc, root, "study_dir", w->study_dir, sizeof w->study_dir, err)) != MRPC_OK) goto done;
    if ((s = meta_str(doc, root, "study_file", w->study_file, sizeof w->study_file, err)) != MRPC_OK) goto done;
    if ((s = meta_str(doc, root, "base_config", w->base_config, sizeof w->base_config, err)) != MRPC_OK) goto done;
    if ((s = meta_str(doc, root, "runs_dir", w->runs_dir, sizeof w->runs_dir, err)) != MRPC_OK) goto done;
    if ((s = meta_str(doc, root, "fixed_hash", w->fixed_hash, sizeof w->fixed_hash, err)) != MRPC_OK) goto done;
    struct { const char *key; int ok; } checks[] = {
        {"study", mrpc_name_is_safe(w->study)},
        {"stage", mrpc_name_is_safe(w->stage)},
        {"study_dir", w->study_dir[0] == '/'},
        {"base_config", w->base_config[0] == '/'},
        {"runs_dir", mrpc_relpath_is_safe(w->runs_dir)},
        {"fixed_hash", is_hex16(w->fixed_hash)},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!checks[i].ok) {
            s = mrpc_yaml_error_at(doc, mrpc_yaml_map_get(doc, root, checks[i].key), err, MRPC_ERR_INVALID, checks[i].key,
                                   "bad value (expected a safe name, an absolute path, a safe relative path or 16 hex digits)");
            goto done;
        }
    }
    n = mrpc_yaml_map_get(doc, root, "n_tasks");
    if (!n) { s = mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, "n_tasks", "missing key"); goto done; }
    if ((s = mrpc_yaml_get_i64(doc, n, "n_tasks", &m->n_tasks, err)) != MRPC_OK) goto done;
    n = mrpc_yaml_map_get(doc, root, "columns");
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        s = mrpc_yaml_error_at(doc, n ? n : root, err, MRPC_ERR_INVALID, "columns", "expected a list of column names");
        goto done;
    }
    size_t nc = mrpc_yaml_len(n);
    if (nc < 3 || nc > 3 + MRPC_WAVE_MAX_KEYS) {
        s = mrpc_yaml_error_at(doc, n, err, MRPC_ERR_INVALID, "columns", "expected 3 to %d columns", 3 + MRPC_WAVE_MAX_KEYS);
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        const yaml_node_t *item = mrpc_yaml_seq_at(doc, n, c);
        char col[48];
        if ((s = mrpc_yaml_get_str(doc, item, "columns", col, sizeof col, err)) != MRPC_OK) goto done;
        if (c < 3 && strcmp(col, fixed_columns[c]) != 0) {
            s = mrpc_yaml_error_at(doc, item, err, MRPC_ERR_INVALID, "columns", "column %zu must be %s", c + 1,
                                   fixed_columns[c]);
            goto done;
        }
        if (c >= 3) mrpc_str_copy(w->keys[c - 3], sizeof w->keys[0], col);
    }
    w->n_keys = nc - 3;
    /* searched: optional (waves written before it have none); each one a column. */
    n = mrpc_yaml_map_get(doc, root, "searched");
    if (n) {
        if (n->type != YAML_SEQUENCE_NODE || mrpc_yaml_len(n) > w->n_keys) {
            s = mrpc_yaml_error_at(doc, n, err, MRPC_ERR_INVALID, "searched", "expected a list of hyperparameter columns");
            goto done;
        }
        for (size_t c = 0; c < mrpc_yaml_len(n); c++) {
            const yaml_node_t *item = mrpc_yaml_seq_at(doc, n, c);
            char col[48];
            if ((s = mrpc_yaml_get_str(doc, item, "searched", col, sizeof col, err)) != MRPC_OK) goto done;
            int found = 0;
            for (size_t k = 0; k < w->n_keys; k++) found |= strcmp(w->keys[k], col) == 0;
            if (!found) {
                s = mrpc_yaml_error_at(doc, item, err, MRPC_ERR_INVALID, "searched", "\"%s\" is not one of the columns", col);
                goto done;
            }
            mrpc_str_copy(w->searched[c], sizeof w->searched[0], col);
        }
        w->n_searched = mrpc_yaml_len(n);
        w->has_searched = 1;
    }
done:
    mrpc_yaml_free(doc);
    return s;
}

mrpc_status mrpc_wave_parse_meta(const char *name, const char *data, size_t size, mrpc_wave *out, mrpc_error *err) {
    wave_meta *m = calloc(1, sizeof *m);
    if (!m) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    mrpc_status s = parse_meta(name, data, size, m, err);
    if (s == MRPC_OK) {
        mrpc_wave_task *tasks = out->tasks;
        size_t n_tasks = out->n_tasks, n_keys = out->n_keys;
        char keys[MRPC_WAVE_MAX_KEYS][48];
        memcpy(keys, out->keys, sizeof keys);
        *out = m->w;
        out->tasks = tasks;
        out->n_tasks = n_tasks;
        out->n_keys = n_keys;
        memcpy(out->keys, keys, sizeof keys);
    }
    free(m);
    return s;
}

mrpc_status mrpc_wave_read(const char *wave_dir, mrpc_wave *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    char path[MRPC_WAVE_PATH_MAX + 32];
    char *data = NULL;
    size_t size = 0;
    wave_meta *m = calloc(1, sizeof *m);
    if (!m) return mrpc_error_set(err, MRPC_ERR_NOMEM, wave_dir, 0, 0, NULL, "out of memory");
    snprintf(path, sizeof path, "%s/wave.yaml", wave_dir);
    mrpc_status s = mrpc_file_read_all(path, 1 << 20, &data, &size, err);
    if (s == MRPC_OK) s = parse_meta(path, data, size, m, err);
    free(data);
    data = NULL;
    if (s != MRPC_OK) goto fail;
    snprintf(path, sizeof path, "%s/tasks.tsv", wave_dir);
    s = mrpc_file_read_all(path, TASKS_MAX_BYTES, &data, &size, err);
    if (s == MRPC_OK) s = mrpc_wave_parse_tasks(path, data, size, out, err);
    free(data);
    if (s != MRPC_OK) goto fail;
    if ((int64_t)out->n_tasks != m->n_tasks || out->n_keys != m->w.n_keys) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL,
                           "does not match wave.yaml (%zu tasks and %zu columns here, %lld and %zu there)", out->n_tasks,
                           out->n_keys, (long long)m->n_tasks, m->w.n_keys);
        goto fail;
    }
    for (size_t k = 0; k < out->n_keys; k++) {
        if (strcmp(out->keys[k], m->w.keys[k]) != 0) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 1, 0, out->keys[k], "column %zu is \"%s\" in wave.yaml",
                               k + 4, m->w.keys[k]);
            goto fail;
        }
    }
    {
        mrpc_wave_task *tasks = out->tasks;
        size_t n_tasks = out->n_tasks;
        *out = m->w;
        out->tasks = tasks;
        out->n_tasks = n_tasks;
    }
    free(m);
    return MRPC_OK;
fail:
    free(m);
    mrpc_wave_clear(out);
    return s;
}

void mrpc_fixed_hash(const mrpc_hparam *fixed, size_t n, char out[17]) {
    uint64_t h = MRPC_FNV1A_INIT;
    for (size_t i = 0; i < n; i++) {
        char line[128], v[64];
        const mrpc_hparam *hp = &fixed[i];
        if (hp->kind == MRPC_VALUE_INT) snprintf(v, sizeof v, "%lld", (long long)hp->i);
        else if (isfinite(hp->f)) mrpc_format_f64(v, sizeof v, hp->f);
        else snprintf(v, sizeof v, "unknown");
        snprintf(line, sizeof line, "%s=%s\n", hp->name, v);
        h = mrpc_fnv1a(h, line, strlen(line));
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

mrpc_status mrpc_wave_check_fixed(const mrpc_wave *w, const mrpc_run_config *cfg, mrpc_error *err) {
    if (!w->has_searched) return MRPC_OK;
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n_hp = mrpc_run_config_hparams(cfg, hp, MRPC_RUNREC_MAX_HPARAMS), n = 0;
    for (size_t i = 0; i < n_hp; i++) {
        int skip = strcmp(hp[i].name, "seed") == 0;
        for (size_t k = 0; k < w->n_searched && !skip; k++) skip = strcmp(hp[i].name, w->searched[k]) == 0;
        if (!skip) hp[n++] = hp[i];
    }
    char now[17];
    mrpc_fixed_hash(hp, n, now);
    if (strcmp(now, w->fixed_hash) == 0) return MRPC_OK;
    return mrpc_error_set(err, MRPC_ERR_INVALID, w->base_config, 0, 0, "fixed_hash",
                          "changed after wave %s/%02d was planned: its fixed settings hash to %s now, the wave was planned "
                          "for %s (waves/%s/%02d/wave.yaml); nothing was trained. Put the base config back as it was, "
                          "or start a new study directory for the new settings",
                          w->stage, w->wave, now, w->fixed_hash, w->stage, w->wave);
}

const mrpc_wave_task *mrpc_wave_task_by_id(const mrpc_wave *w, int64_t task_id) {
    if (task_id < 0 || (uint64_t)task_id >= w->n_tasks) return NULL;
    const mrpc_wave_task *t = &w->tasks[task_id];
    return t->task_id == task_id ? t : NULL;
}

const mrpc_wave_task *mrpc_wave_task_by_run_id(const mrpc_wave *w, const char *run_id) {
    for (size_t i = 0; i < w->n_tasks; i++)
        if (strcmp(w->tasks[i].run_id, run_id) == 0) return &w->tasks[i];
    return NULL;
}

mrpc_status mrpc_wave_apply_task(const mrpc_wave *w, const mrpc_wave_task *task, mrpc_run_config *cfg,
                                 mrpc_error *err) {
    char source[MRPC_WAVE_PATH_MAX + 80];
    snprintf(source, sizeof source, "%s/waves/%s/%02d/tasks.tsv", w->study_dir, w->stage, w->wave);
    for (size_t k = 0; k < w->n_keys; k++) {
        mrpc_status s = mrpc_run_config_set(cfg, w->keys[k], task->values[k], source, task->line, 0, err);
        if (s != MRPC_OK) return s;
    }
    char output[MRPC_WAVE_PATH_MAX + 300];
    int n = snprintf(output, sizeof output, "%s/%s", w->study_dir, task->output);
    if (n < 0 || (size_t)n >= MRPC_PATH_MAX) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, source, task->line, 0, "output", "output path too long");
    }
    mrpc_status s = mrpc_run_config_set(cfg, "run_id", task->run_id, source, task->line, 0, err);
    if (s == MRPC_OK) s = mrpc_run_config_set(cfg, "stage", w->stage, source, task->line, 0, err);
    if (s == MRPC_OK) s = mrpc_run_config_set(cfg, "output", output, source, task->line, 0, err);
    return s;
}
