/* make_synth.c — writes the synthetic study of synth_study.h into a directory (for looking at reports by hand). */
#include <stdio.h>
#include <stdlib.h>

#include "synth_study.h"

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: make_synth DIR [N_SMALL]\n");
        return 2;
    }
    synth_info info;
    mrpc_error err = {0};
    mrpc_status st = argc == 3 ? synth_study_write_small(argv[1], (size_t)strtoul(argv[2], NULL, 10), &info, &err)
                               : synth_study_write(argv[1], &info, &err);
    if (st != MRPC_OK) {
        mrpc_error_print(stderr, "make_synth", &err);
        return 1;
    }
    printf("%zu runs, best %s %.4f, baseline mean %.4f\n", info.n_runs, info.best_run_id, info.best_accuracy,
           info.baseline_mean);
    return 0;
}
