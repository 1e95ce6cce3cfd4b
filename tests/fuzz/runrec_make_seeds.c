/* runrec_make_seeds.c — writes the seed corpus of fuzz_runrec: small but complete run
 * records of each status. Usage: runrec_make_seeds DIR (the files in
 * tests/fuzz/corpus/fuzz_runrec/ were made with it; rerun it after a layout change). */
#include <stdio.h>
#include <string.h>

#include "runrec.h"

static int make(const char *dir, const char *name, mrpc_run_status status, int n_train, int n_eval, int n_pred) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mrpc_runrec_meta meta = {.run_id      = "seed-1",
                             .stage       = "manual",
                             .host        = "h",
                             .n_ranks     = 1,
                             .backend     = "cpu",
                             .precision   = "fp32",
                             .config_yaml = "seed: 1\n"};
    mrpc_hparam h[2];
    memset(h, 0, sizeof h);
    snprintf(h[0].name, sizeof h[0].name, "lr");
    h[0].kind = MRPC_VALUE_FLOAT;
    h[0].f    = 3e-5;
    snprintf(h[1].name, sizeof h[1].name, "epochs");
    h[1].kind             = MRPC_VALUE_INT;
    h[1].i                = 2;
    mrpc_runrec_writer *w = NULL;
    mrpc_error err        = {0};
    if (mrpc_runrec_create(path, &meta, h, 2, &w, &err) != MRPC_OK) goto fail;
    for (int i = 0; i < n_train; i++)
        if (mrpc_runrec_append_train(w, i + 1, 0.7 - 0.01 * i, 3e-5, 1.0, &err) != MRPC_OK) goto fail_w;
    for (int k = 0; k < n_eval; k++)
        if (mrpc_runrec_append_eval(w, n_train, k + 1, 0.8, 0.85, 0.5, &err) != MRPC_OK) goto fail_w;
    int32_t p[8] = {0, 1, 1, 0, 1, 1, 0, 1};
    if (n_pred && mrpc_runrec_write_predictions(w, p, p, (size_t)n_pred, &err) != MRPC_OK) goto fail_w;
    if (status == MRPC_RUN_RUNNING) {
        mrpc_runrec_abandon(w);
        return 0;
    }
    if (status == MRPC_RUN_PAUSED) {
        if (mrpc_runrec_pause(w, n_eval, "paused after epoch 1 of 2", &err) != MRPC_OK) goto fail;
        return 0;
    }
    mrpc_runrec_summary s = {0.8, 0.85, 0.81, 12.5, 1000.0};
    if (mrpc_runrec_finish(w, status, status == MRPC_RUN_COMPLETED ? NULL : "seed reason",
                           status == MRPC_RUN_COMPLETED ? &s : NULL, &err) != MRPC_OK)
        goto fail;
    return 0;
fail_w:
    mrpc_runrec_abandon(w);
fail:
    mrpc_error_print(stderr, "runrec_make_seeds", &err);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: runrec_make_seeds DIR\n");
        return 2;
    }
    int bad = 0;
    bad |= make(argv[1], "completed.h5", MRPC_RUN_COMPLETED, 5, 2, 8);
    bad |= make(argv[1], "running.h5", MRPC_RUN_RUNNING, 3, 1, 0);
    bad |= make(argv[1], "failed.h5", MRPC_RUN_FAILED, 0, 0, 0);
    bad |= make(argv[1], "paused.h5", MRPC_RUN_PAUSED, 4, 1, 0);
    return bad;
}
