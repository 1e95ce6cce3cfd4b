/*
 * cuda_bench.c — mrpc-cuda-bench: full DistilBERT training steps on the CUDA backend.
 *
 *     mrpc-cuda-bench [--batch 32] [--seq 128] [--steps 20] [--warmup 3] [--precision fp32|bf16]
 *                     [--chunk-tokens N] [--seed S]
 *
 * The same work as `mrpc-train bench` (train/bench_cli.c) and bench/torch_cuda_step.py:
 * distilbert-base-uncased shapes, HF random init, random token ids with every row full
 * length, random labels, dropout 0.1/0.1/0.2 on; one step = zero_grad + forward_backward
 * + clip_grad_norm(1.0) + AdamW (wd 0.01, linear schedule), timed from the host with the
 * device synchronised at the end of the step. The whole batch is one micro-batch unless
 * --chunk-tokens says otherwise. Last line: tokens_per_second=<value> (median step).
 * Exits 77 when there is no CUDA device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"
#include "lr_schedule.h"
#include "model.h"
#include "rng.h"
#include "strutil.h"
#include "timeutil.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mrpc-cuda-bench [--batch B] [--seq L] [--steps N] [--warmup W] [--precision fp32|bf16]\n"
               "                       [--chunk-tokens N] [--seed S]\n"
               "Times full training steps of distilbert-base-uncased on the CUDA backend.\n"
               "Last line: tokens_per_second=<value>.\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int64_t B = 32, L = 128, steps = 20, warmup = 3, chunk = 0, seed = 1234;
    mrpc_precision prec = MRPC_PRECISION_FP32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int64_t *target = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--precision") == 0 && i + 1 < argc) {
            if (!mrpc_precision_parse(argv[++i], &prec)) {
                fprintf(stderr, "mrpc-cuda-bench: --precision must be fp32 or bf16, got '%s'\n", argv[i]);
                return 2;
            }
            continue;
        } else if (strcmp(a, "--batch") == 0) {
            target = &B;
        } else if (strcmp(a, "--seq") == 0) {
            target = &L;
        } else if (strcmp(a, "--steps") == 0) {
            target = &steps;
        } else if (strcmp(a, "--warmup") == 0) {
            target = &warmup;
        } else if (strcmp(a, "--chunk-tokens") == 0) {
            target = &chunk;
        } else if (strcmp(a, "--seed") == 0) {
            target = &seed;
        }
        if (!target || i + 1 >= argc || !mrpc_parse_i64(argv[i + 1], target)) {
            fprintf(stderr, "mrpc-cuda-bench: bad or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (B < 1 || B > 4096 || L < 1 || L > 512 || steps < 1 || steps > 100000 || warmup < 0 || chunk < 0 ||
        chunk > (1 << 24)) {
        fprintf(stderr, "mrpc-cuda-bench: need 1 <= batch <= 4096, 1 <= seq <= 512, steps >= 1, warmup >= 0\n");
        return 2;
    }
    if (mrpc_backend_cuda_device_count() < 1) {
        fprintf(stderr, "mrpc-cuda-bench: no CUDA device\n");
        return 77;
    }
    mrpc_model_dims dims;
    mrpc_model_dims_default(&dims);
    mrpc_model_options o;
    memset(&o, 0, sizeof o);
    o.backend = MRPC_BACKEND_CUDA;
    o.precision = prec;
    o.n_threads = 1;
    o.max_batch = (int)B;
    o.max_seq = (int)L;
    o.chunk_tokens = chunk > 0 ? (int)chunk : (int)(B * L); /* one micro-batch: big GEMMs */
    mrpc_error err = {0};
    mrpc_model *m = NULL;
    if (mrpc_model_create(&dims, &o, &m, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-cuda-bench", &err);
        return 1;
    }
    mrpc_backend *be = mrpc_model_backend(m);
    double t0 = mrpc_seconds_now();
    if (mrpc_model_init_random(m, (uint64_t)seed, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-cuda-bench", &err);
        mrpc_model_free(m);
        return 1;
    }
    double t_init = mrpc_seconds_now() - t0;
    size_t n_params = 0;
    mrpc_model_params(m, &n_params);
    printf("bench: distilbert-base-uncased, %zu parameters, batch %lld x seq %lld, precision %s, backend %s%s\n",
           n_params, (long long)B, (long long)L, mrpc_precision_name(prec), be->name,
           getenv("MRPC_CUDA_ALLOW_TF32") ? " (MRPC_CUDA_ALLOW_TF32 set)" : "");
    printf("bench: model memory %.1f MiB (4 slabs + activation arena), init %.2f s\n",
           (double)mrpc_model_bytes(m) / 1048576.0, t_init);

    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(B * L));
    int32_t *len = malloc(sizeof(int32_t) * (size_t)B);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)B);
    uint32_t *ex = malloc(sizeof(uint32_t) * (size_t)B);
    double *times = malloc(sizeof(double) * (size_t)steps);
    if (!ids || !len || !lab || !ex || !times) {
        fprintf(stderr, "mrpc-cuda-bench: out of memory\n");
        return 1;
    }
    mrpc_rng rng;
    mrpc_rng_init(&rng, (uint64_t)seed, MRPC_RNG_TEST, 7);
    for (int64_t b = 0; b < B; b++) {
        len[b] = (int32_t)L;
        lab[b] = (int32_t)mrpc_rng_below(&rng, 2);
        ex[b] = (uint32_t)b;
        ids[b * L] = 101; /* [CLS] */
        for (int64_t t = 1; t < L; t++) {
            ids[b * L + t] = 1 + (int32_t)mrpc_rng_below(&rng, (uint64_t)dims.vocab_size - 1);
        }
    }
    mrpc_model_batch batch;
    memset(&batch, 0, sizeof batch);
    batch.B = (int)B;
    batch.T = (int)L;
    batch.ids = ids;
    batch.lengths = len;
    batch.labels = lab;
    batch.example_index = ex;
    batch.seed = (uint64_t)seed;
    batch.dropout = (mrpc_model_dropouts){0.1, 0.1, 0.2};
    batch.loss_scale = 1.0 / (double)B;
    int64_t total = warmup + steps;
    int rc = 0;
    for (int64_t k = 0; k < total; k++) {
        double s0 = mrpc_seconds_now();
        double loss = 0.0;
        batch.epoch = (uint32_t)k;
        mrpc_model_zero_grad(m);
        if (mrpc_model_forward_backward(m, &batch, &loss, NULL, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-cuda-bench", &err);
            rc = 1;
            break;
        }
        double s1 = mrpc_seconds_now();
        double norm = mrpc_model_clip_grad_norm(m, 1.0);
        mrpc_adamw_hparams hp = {.lr = mrpc_lr_linear_at_update(5e-5, k + 1, 0, total), .beta1 = 0.9,
                                 .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = k + 1};
        if (mrpc_model_adamw_step(m, &hp, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-cuda-bench", &err);
            rc = 1;
            break;
        }
        be->ops->synchronize(be);
        if (be->ops->get_error(be, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-cuda-bench", &err);
            rc = 1;
            break;
        }
        double s2 = mrpc_seconds_now();
        printf("%s %lld time_s=%.4f fwd_bwd_s=%.4f clip_adamw_s=%.4f loss=%.5f grad_norm=%.4f\n",
               k < warmup ? "warmup" : "step", (long long)k, s2 - s0, s1 - s0, s2 - s1, loss / (double)B, norm);
        fflush(stdout);
        if (k >= warmup) {
            times[k - warmup] = s2 - s0;
        }
    }
    if (rc == 0) {
        qsort(times, (size_t)steps, sizeof(double), cmp_double);
        double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
        printf("median_step_s=%.5f\n", med);
        printf("tokens_per_second=%.1f\n", (double)(B * L) / med);
    }
    free(ids);
    free(len);
    free(lab);
    free(ex);
    free(times);
    mrpc_model_free(m);
    return rc;
}
