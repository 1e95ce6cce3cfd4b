/*
 * fuzz_optimize_tasks.c — libFuzzer target for the wave spec readers: any bytes go to
 * mrpc_wave_parse_tasks (tasks.tsv) and mrpc_wave_parse_meta (wave.yaml). A refused
 * input must carry an error with the file name; an accepted tasks.tsv must hold only
 * safe run ids and outputs, and must format back to exactly the bytes it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "wave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrpc_wave *w = calloc(1, sizeof *w);
    if (!w) return 0;
    mrpc_error err = {0};
    mrpc_status s = mrpc_wave_parse_tasks("tasks.tsv", (const char *)data, size, w, &err);
    if (s != MRPC_OK) {
        check(strcmp(err.file, "tasks.tsv") == 0 && w->tasks == NULL && w->n_tasks == 0);
    } else {
        check(w->n_tasks >= 1);
        for (size_t i = 0; i < w->n_tasks; i++) {
            check(mrpc_name_is_safe(w->tasks[i].run_id) && mrpc_relpath_is_safe(w->tasks[i].output));
            check(w->tasks[i].task_id == (int64_t)i);
        }
        char *text = NULL;
        check(mrpc_wave_format_tasks(w, &text, &err) == MRPC_OK);
        /* Canonical input (trailing newline) must come back byte for byte. */
        if (size > 0 && data[size - 1] == '\n') check(strlen(text) == size && memcmp(text, data, size) == 0);
        free(text);
    }
    mrpc_wave_clear(w);
    s = mrpc_wave_parse_meta("wave.yaml", (const char *)data, size, w, &err);
    if (s != MRPC_OK) check(strcmp(err.file, "wave.yaml") == 0);
    else check(mrpc_name_is_safe(w->stage) && w->study_dir[0] == '/' && mrpc_relpath_is_safe(w->runs_dir));
    mrpc_wave_clear(w);
    free(w);
    return 0;
}
