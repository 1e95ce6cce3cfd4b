/* study_fixture.c — study files for the optimizer's tests (see study_fixture.h). */
#include "study_fixture.h"

#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "optimize.h"
#include "strutil.h"
#include "testutil.h"

void study_fixture_write(const char *dir, const char *name, const char *text) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mrpc_error err = {0};
    mrpc_mkdir_parent(path, &err);
    CHECK_OK(mrpc_file_write_atomic(path, text, strlen(text), &err), &err);
}

int study_fixture_minimal_base(const char *dir, char *study_file, size_t size) {
    snprintf(study_file, size, "%s/study.yaml", dir);
    char path[1300];
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    const char *base = "learning_rate: 5.0e-5\nnum_epochs: 3\n";
    mrpc_error err = {0};
    return CHECK_OK(mrpc_file_write_atomic(path, base, strlen(base), &err), &err);
}

int study_fixture_first_wave(const char *name, const char *stages, mrpc_study *st, char *dir, size_t dir_size,
                             char *wave_dir, size_t wave_size) {
    static const char base_yaml[] = "model:\n  path: random\n"
                                    "learning_rate: 5.0e-5\nnum_epochs: 3\ntrain_batch_size: 32\ndropout: 0.1\n";
    char study_yaml[4096];
    snprintf(study_yaml, sizeof study_yaml,
             "name: %s\nseed: 11\n"
             "objective: {metric: accuracy, goal: maximize}\n"
             "base_config: base.yaml\n"
             "parameters:\n"
             "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 2.0e-4}\n"
             "  weight_decay: {min: 0.0, max: 0.1, baseline: 0.0}\n"
             "  num_epochs: {value: 3}\n"
             "stages:\n%s",
             name, stages);
    snprintf(dir, dir_size, "%s/study", mrpc_test_tmpdir());
    mrpc_error err = {0};
    mrpc_mkdir_p(dir, &err);
    study_fixture_write(dir, "base.yaml", base_yaml);
    study_fixture_write(dir, "study.yaml", study_yaml);
    char path[2048];
    snprintf(path, sizeof path, "%s/study.yaml", dir);
    if (!CHECK_OK(mrpc_study_load(path, st, &err), &err)) return 0;
    mrpc_next_options opt = {.lock_timeout = 5.0, .bindir = "/opt/mrpc/bin"};
    mrpc_next_result res;
    if (!CHECK(mrpc_optimize_next(st, &opt, &res, &err) == MRPC_OK && res.outcome == MRPC_NEXT_WAVE, "first wave"))
        return 0;
    mrpc_str_copy(wave_dir, wave_size, res.wave_dir);
    mrpc_next_result_free(&res);
    return 1;
}
