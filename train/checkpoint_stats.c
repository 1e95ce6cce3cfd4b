/* checkpoint_stats.c — the checkpoint counts file beside a resume checkpoint (see checkpoint_stats.h). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "checkpoint_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "strutil.h"

mrpc_status mrpc_checkpoint_stats_load(const char *path, mrpc_checkpoint_stats *out, mrpc_error *err) {
    memset(out, 0, sizeof *out);
    if (!mrpc_path_exists(path)) return MRPC_OK;
    char *text = NULL;
    size_t size = 0;
    mrpc_status s = mrpc_file_read_all(path, 4096, &text, &size, err);
    if (s != MRPC_OK) return s;
    mrpc_checkpoint_stats v;
    memset(&v, 0, sizeof v);
    int64_t *ints[] = {&v.written, &v.failed, &v.resumes, &v.steps_redone};
    const char *int_keys[] = {"written", "failed", "resumes", "steps_redone"};
    char *save = NULL;
    for (char *tok = strtok_r(text, " \n", &save); tok && s == MRPC_OK; tok = strtok_r(NULL, " \n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 1, 0, tok, "expected key=value");
            break;
        }
        *eq = '\0';
        const char *value = eq + 1;
        int known = 0;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
            if (strcmp(tok, int_keys[k]) != 0) continue;
            known = 1;
            if (!mrpc_parse_i64(value, ints[k]) || *ints[k] < 0)
                s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 1, 0, tok, "expected a count, got \"%s\"", value);
        }
        if (strcmp(tok, "seconds") == 0) {
            known = 1;
            if (!mrpc_parse_f64(value, &v.seconds) || !isfinite(v.seconds) || v.seconds < 0)
                s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 1, 0, tok, "expected seconds, got \"%s\"", value);
        }
        if (!known && s == MRPC_OK) s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 1, 0, tok, "unknown key");
    }
    free(text);
    if (s == MRPC_OK) *out = v;
    return s;
}

mrpc_status mrpc_checkpoint_stats_save(const char *path, const mrpc_checkpoint_stats *stats, mrpc_error *err) {
    char seconds[40], line[256];
    mrpc_format_f64(seconds, sizeof seconds, stats->seconds);
    int n = snprintf(line, sizeof line, "written=%lld failed=%lld seconds=%s resumes=%lld steps_redone=%lld\n",
                     (long long)stats->written, (long long)stats->failed, seconds, (long long)stats->resumes,
                     (long long)stats->steps_redone);
    return mrpc_file_write_atomic(path, line, (size_t)n, err);
}
