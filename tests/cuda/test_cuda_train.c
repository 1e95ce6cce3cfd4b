/*
 * test_cuda_train.c — a short MRPC training run on the CPU and on the GPU, compared.
 *
 * A tiny DistilBERT (dim 64, 2 layers, 4 heads, hidden 128, the BERT vocabulary, 128
 * positions) from the same random init trains for a few AdamW updates on MRPC dev.tsv
 * (tokenized with the project's tokenizer), with the trainer's recipe: shuffled batches
 * of 16 (dynamic padding), dropout 0.1/0.1/0.2 on, clipping at 1.0, weight decay 0.01,
 * linear schedule. Runs:
 *   cpu  fp32  (the fast CPU backend, the reference here)
 *   cuda fp32  per-update loss and gradient norm within 1e-4 relative of the CPU's, final
 *              weights within 1e-3 normwise, evaluation loss on 128 examples within 1e-4;
 *   cuda fp32  again, one micro-batch per step: bitwise identical to itself on a rerun
 *              (determinism), within rounding of the default micro-batching;
 *   cuda bf16  losses within 2e-2 relative of fp32 (bf16 GEMM operands).
 *
 * Needs $MRPC_DATA_DIR (mrpc/dev.tsv, bert-base-uncased/vocab.txt; skips without it) and
 * a CUDA device (exit 77 without one).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "cuda_backend.h"
#include "lr_schedule.h"
#include "model.h"
#include "testutil.h"
#include "token_cache.h"
#include "tokenizer.h"

#define STEPS 8
#define BATCH 16
#define EVAL_N 128

typedef struct run_out {
    double  loss[STEPS], norm[STEPS];
    double  eval_loss;
    float  *params; /* final, host */
    size_t  n;
    int     ok;
} run_out;

static void run(const mrpc_dataset *ds, int32_t pad, int vocab, mrpc_backend_kind kind, mrpc_precision prec,
                int chunk, run_out *out) {
    memset(out, 0, sizeof *out);
    mrpc_model_dims dims = {.dim = 64, .n_layers = 2, .n_heads = 4, .hidden_dim = 128, .vocab_size = vocab,
                            .max_positions = 128, .num_labels = 2, .pad_id = pad, .initializer_range = 0.02};
    mrpc_model_options o;
    memset(&o, 0, sizeof o);
    o.backend = kind;
    o.precision = prec;
    o.n_threads = 2;
    o.max_batch = BATCH > EVAL_N ? BATCH : EVAL_N;
    o.max_seq = (int)ds->max_len;
    o.chunk_tokens = chunk;
    mrpc_error err = {0};
    mrpc_model *m = NULL;
    mrpc_status st = mrpc_model_create(&dims, &o, &m, &err);
    if (kind == MRPC_BACKEND_CUDA && st == MRPC_ERR_UNSUPPORTED) {
        CHECK(0, "no CUDA backend behind mrpc_model_create (%s): backend.c must dispatch MRPC_BACKEND_CUDA",
              err.message);
        return;
    }
    if (!CHECK_OK(st, &err) || !CHECK_OK(mrpc_model_init_random(m, 1234, &err), &err)) {
        mrpc_model_free(m);
        return;
    }
    mrpc_batcher bt;
    if (!CHECK_OK(mrpc_batcher_init(&bt, ds, 0, BATCH, 0, 1, pad, 99, &err), &err)) {
        mrpc_model_free(m);
        return;
    }
    int ok = 1;
    for (int k = 0; k < STEPS && ok; k++) {
        const mrpc_batch *b = NULL;
        ok = CHECK_OK(mrpc_batcher_get(&bt, 0, k, 1, &b, &err), &err);
        if (!ok) {
            break;
        }
        mrpc_model_batch mb;
        memset(&mb, 0, sizeof mb);
        mb.B = b->n_rows;
        mb.T = b->seq_len;
        mb.ids = b->ids;
        mb.lengths = b->lengths;
        mb.labels = b->labels;
        mb.example_index = b->example_index;
        mb.epoch = 0;
        mb.seed = 77;
        mb.dropout = (mrpc_model_dropouts){0.1, 0.1, 0.2};
        mb.loss_scale = 1.0 / b->global_size;
        double loss_sum = 0.0;
        mrpc_model_zero_grad(m);
        ok = CHECK_OK(mrpc_model_forward_backward(m, &mb, &loss_sum, NULL, &err), &err);
        out->loss[k] = loss_sum / b->global_size;
        out->norm[k] = mrpc_model_clip_grad_norm(m, 1.0);
        mrpc_adamw_hparams hp = {.lr = mrpc_lr_linear_at_update(1e-3, k + 1, 2, STEPS), .beta1 = 0.9,
                                 .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = k + 1};
        ok = ok && CHECK_OK(mrpc_model_adamw_step(m, &hp, &err), &err);
    }
    /* evaluation on the first EVAL_N examples in file order (dropout off) */
    mrpc_batcher ev;
    if (ok && CHECK_OK(mrpc_batcher_init(&ev, ds, EVAL_N, EVAL_N, 0, 1, pad, 99, &err), &err)) {
        const mrpc_batch *b = NULL;
        if (CHECK_OK(mrpc_batcher_get(&ev, 0, 0, 0, &b, &err), &err)) {
            mrpc_model_batch mb;
            memset(&mb, 0, sizeof mb);
            mb.B = b->n_rows;
            mb.T = b->seq_len;
            mb.ids = b->ids;
            mb.lengths = b->lengths;
            mb.labels = b->labels;
            mb.example_index = b->example_index;
            double l = 0.0;
            ok = CHECK_OK(mrpc_model_forward_eval(m, &mb, &l, NULL, NULL, &err), &err);
            out->eval_loss = l / b->n_rows;
        }
        mrpc_batcher_free(&ev);
    }
    mrpc_model_params(m, &out->n);
    out->params = malloc(sizeof(float) * out->n);
    if (out->params) {
        mrpc_model_slab_to_host(m, MRPC_SLAB_PARAMS, out->params);
    }
    out->ok = ok && out->params != NULL;
    mrpc_batcher_free(&bt);
    mrpc_model_free(m);
}

static double rel_norm_diff(const float *a, const float *b, size_t n) {
    double sd = 0.0, sb = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        sd += d * d;
        sb += (double)b[i] * b[i];
    }
    return sb > 0 ? sqrt(sd / sb) : sqrt(sd);
}

static void print_run(const char *tag, const run_out *r) {
    printf("%-28s losses:", tag);
    for (int k = 0; k < STEPS; k++) {
        printf(" %.6f", r->loss[k]);
    }
    printf("  eval %.6f\n", r->eval_loss);
}

int main(void) {
    if (mrpc_backend_cuda_device_count() < 1) {
        mrpc_test_skip("no CUDA device");
    }
    const char *tsv = mrpc_test_data_path("mrpc/dev.tsv");
    char tsv_path[1024];
    snprintf(tsv_path, sizeof tsv_path, "%s", tsv);
    const char *vocab_path = mrpc_test_data_path("bert-base-uncased/vocab.txt");
    mrpc_error err = {0};
    mrpc_vocab *vocab = NULL;
    if (!CHECK_OK(mrpc_vocab_load(vocab_path, &vocab, &err), &err)) {
        return mrpc_test_report();
    }
    mrpc_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (!CHECK_OK(mrpc_dataset_load(tsv_path, NULL, vocab, 128, MRPC_TRUNCATION_LONGEST_FIRST, NULL, &ds, NULL, &err), &err)) {
        mrpc_vocab_free(vocab);
        return mrpc_test_report();
    }
    int32_t pad = mrpc_vocab_pad_id(vocab);
    int V = (int)mrpc_vocab_size(vocab);
    printf("MRPC dev: %zu examples, longest %zu tokens; tiny model, %d updates of %d\n", ds.n, ds.max_len, STEPS,
           BATCH);

    run_out cpu, gpu, gpu1a, gpu1b, gpu16;
    run(&ds, pad, V, MRPC_BACKEND_CPU, MRPC_PRECISION_FP32, 0, &cpu);
    run(&ds, pad, V, MRPC_BACKEND_CUDA, MRPC_PRECISION_FP32, 0, &gpu);
    int one = BATCH * (int)ds.max_len > EVAL_N * (int)ds.max_len ? BATCH * (int)ds.max_len : EVAL_N * (int)ds.max_len;
    run(&ds, pad, V, MRPC_BACKEND_CUDA, MRPC_PRECISION_FP32, one, &gpu1a);
    run(&ds, pad, V, MRPC_BACKEND_CUDA, MRPC_PRECISION_FP32, one, &gpu1b);
    run(&ds, pad, V, MRPC_BACKEND_CUDA, MRPC_PRECISION_BF16, 0, &gpu16);
    if (cpu.ok && gpu.ok && gpu1a.ok && gpu1b.ok && gpu16.ok) {
        print_run("cpu fp32", &cpu);
        print_run("cuda fp32", &gpu);
        print_run("cuda fp32 one micro-batch", &gpu1a);
        print_run("cuda bf16", &gpu16);
        for (int k = 0; k < STEPS; k++) {
            CHECK_CLOSE(gpu.loss[k], cpu.loss[k], 1e-5, 1e-4, "cuda fp32 vs cpu: per-update loss");
            CHECK_CLOSE(gpu.norm[k], cpu.norm[k], 1e-6, 1e-4, "cuda fp32 vs cpu: per-update gradient norm");
            CHECK_CLOSE(gpu1a.loss[k], gpu.loss[k], 1e-5, 1e-4, "one micro-batch vs default micro-batching");
            CHECK_CLOSE(gpu16.loss[k], gpu.loss[k], 0.0, 2e-2, "cuda bf16 vs fp32: per-update loss");
        }
        CHECK_CLOSE(gpu.eval_loss, cpu.eval_loss, 1e-5, 1e-4, "cuda fp32 vs cpu: evaluation loss");
        double dw = rel_norm_diff(gpu.params, cpu.params, cpu.n);
        printf("final weights: cuda fp32 vs cpu rel-norm %.3e; bf16 vs fp32 %.3e\n", dw,
               rel_norm_diff(gpu16.params, gpu.params, gpu.n));
        CHECK(dw < 1e-3, "cuda fp32 vs cpu: final weights within 1e-3 normwise (%.3e)", dw);
        CHECK(memcmp(gpu1a.loss, gpu1b.loss, sizeof gpu1a.loss) == 0 &&
                  memcmp(gpu1a.params, gpu1b.params, sizeof(float) * gpu1a.n) == 0,
              "cuda: the same run twice is bitwise identical");
    }
    free(cpu.params);
    free(gpu.params);
    free(gpu1a.params);
    free(gpu1b.params);
    free(gpu16.params);
    mrpc_dataset_free(&ds);
    mrpc_vocab_free(vocab);
    return mrpc_test_report();
}
