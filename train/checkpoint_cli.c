/* checkpoint_cli.c — `mrpc-train check-checkpoint DIR` (see checkpoint_cli.h). */
#include "checkpoint_cli.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

int mrpc_checkpoint_cli_main(int argc, char **argv) {
    int help = 0;
    for (int i = 1; i < argc; i++) help |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    if (argc != 2 || help) {
        fprintf(help ? stdout : stderr, "usage: mrpc-train check-checkpoint DIR\n"
                                        "Loads DIR/config.json and DIR/model.safetensors as a run would, and says\n"
                                        "which checkpoint tensors a run would not use and which it would initialise.\n");
        return help ? 0 : 2;
    }
    const char *dir = argv[1];
    mrpc_error err = {0};
    mrpc_model_dims dims;
    mrpc_model_dropouts drop;
    if (mrpc_model_read_hf_config(dir, &dims, &drop, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        return 2;
    }
    mrpc_model_options opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = MRPC_BACKEND_CPU;
    opts.n_threads = 1;
    opts.max_batch = 1;
    opts.max_seq = dims.max_positions < 8 ? dims.max_positions : 8;
    mrpc_model *m = NULL;
    int head = 0;
    mrpc_hf_load_report report;
    memset(&report, 0, sizeof report);
    if (mrpc_model_create(&dims, &opts, &m, &err) != MRPC_OK ||
        mrpc_model_load_hf_report(m, dir, 0, NULL, &head, &report, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &err);
        mrpc_model_free(m);
        return 2;
    }
    printf("%s: DistilBERT dim %d, %d layers, %d heads, FFN %d, vocab %d, %d positions, %zu parameters\n", dir,
           dims.dim, dims.n_layers, dims.n_heads, dims.hidden_dim, dims.vocab_size, dims.max_positions,
           mrpc_model_param_count(&dims));
    printf("dropouts: hidden %.3g, attention %.3g, classifier %.3g\n", drop.hidden, drop.attention, drop.classifier);
    printf("classification head: %s\n", head ? "loaded (a fine-tuned checkpoint)" : "absent (initialised at random)");
    printf("checkpoint tensors not used: %s\n", report.unused);
    printf("newly initialized: %s\n", report.initialized);
    mrpc_hf_load_report_free(&report);
    mrpc_model_free(m);
    return 0;
}
