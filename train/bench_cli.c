/*
 * bench_cli.c — `mrpc-train bench`: the training-step benchmark.
 *
 * distilbert-base-uncased shapes (dim 768, 6 layers, 12 heads, hidden 3072, vocab 30522,
 * 512 positions, 2 labels), HF random init, random token ids with every row full length
 * (no padding, the same work as bench/torch_step.py), random labels, dropout 0.1/0.1/0.2
 * on. One step = zero_grad + forward_backward + clip_grad_norm(1.0) + AdamW (wd 0.01,
 * linear schedule). Warmup steps are run and not timed; tokens_per_second = B*L / median
 * timed step; peak RSS from getrusage.
 *
 * --checkpoint N then writes the run's resume checkpoint (parameters and both AdamW
 * moments, copied to the host first: what mrpc-train writes every save period) N times
 * to --checkpoint-path (removed afterwards) and reports the median write time.
 */
#include "bench_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lr_schedule.h"
#include "model.h"
#include "profile.h"
#include "resume.h"
#include "rng.h"
#include "strutil.h"
#include "timeutil.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mrpc-train bench [--batch B] [--seq L] [--steps N] [--warmup W] [--precision fp32|bf16]\n"
               "                        [--backend cpu|cuda]\n"
               "                        [--threads N] [--chunk-tokens N] [--no-prune] [--profile] [--seed S]\n"
               "                        [--checkpoint N] [--checkpoint-path FILE]\n"
               "Times full training steps (forward, backward, clipping, AdamW) of distilbert-base-uncased\n"
               "on random weights and tokens. Last line: tokens_per_second=<value>. --checkpoint N also\n"
               "times N writes of the resume checkpoint (default path ./bench-checkpoint.resume, removed).\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1.0;
    }
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* Writes the resume checkpoint n times; prints each time, the median and the size. */
static int time_checkpoints(mrpc_model *m, const char *path, int64_t n) {
    double *t = malloc(sizeof(double) * (size_t)n);
    if (!t) return 1;
    mrpc_resume_state state;
    memset(&state, 0, sizeof state);
    mrpc_str_copy(state.run_id, sizeof state.run_id, "bench");
    mrpc_error err = {0};
    int rc = 0;
    for (int64_t k = 0; k < n && rc == 0; k++) {
        state.steps_done = k;
        double t0 = mrpc_seconds_now();
        if (mrpc_resume_write(path, m, &state, NULL, 0, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train bench", &err);
            rc = 1;
            break;
        }
        t[k] = mrpc_seconds_now() - t0;
        printf("checkpoint %lld write_s=%.4f\n", (long long)k, t[k]);
    }
    if (rc == 0) {
        struct stat st;
        double mb = stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : -1.0;
        qsort(t, (size_t)n, sizeof(double), cmp_double);
        printf("checkpoint_mb=%.1f\n", mb);
        printf("median_checkpoint_s=%.4f\n", n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]));
    }
    remove(path);
    free(t);
    return rc;
}

int mrpc_bench_cli_main(int argc, char **argv) {
    int64_t B = 32, L = 128, steps = 5, warmup = 1, threads = 2, chunk = 0, seed = 1234, n_checkpoints = 0;
    const char *checkpoint_path = "bench-checkpoint.resume";
    int no_prune = 0, profile = 0;
    mrpc_precision prec = MRPC_PRECISION_FP32;
    mrpc_backend_kind kind = MRPC_BACKEND_CPU;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int64_t *target = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--no-prune") == 0) {
            no_prune = 1;
            continue;
        } else if (strcmp(a, "--profile") == 0) {
            profile = 1;
            continue;
        } else if (strcmp(a, "--precision") == 0 && i + 1 < argc) {
            if (!mrpc_precision_parse(argv[++i], &prec)) {
                fprintf(stderr, "mrpc-train bench: --precision must be fp32 or bf16, got '%s'\n", argv[i]);
                return 2;
            }
            continue;
        } else if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
            const char *b = argv[++i];
            if (strcmp(b, "cpu") == 0) kind = MRPC_BACKEND_CPU;
            else if (strcmp(b, "cuda") == 0) kind = MRPC_BACKEND_CUDA;
            else {
                fprintf(stderr, "mrpc-train bench: --backend must be cpu or cuda, got '%s'\n", b);
                return 2;
            }
            continue;
        } else if (strcmp(a, "--checkpoint-path") == 0 && i + 1 < argc) {
            checkpoint_path = argv[++i];
            continue;
        } else if (strcmp(a, "--checkpoint") == 0) {
            target = &n_checkpoints;
        } else if (strcmp(a, "--batch") == 0) {
            target = &B;
        } else if (strcmp(a, "--seq") == 0) {
            target = &L;
        } else if (strcmp(a, "--steps") == 0) {
            target = &steps;
        } else if (strcmp(a, "--warmup") == 0) {
            target = &warmup;
        } else if (strcmp(a, "--threads") == 0) {
            target = &threads;
        } else if (strcmp(a, "--chunk-tokens") == 0) {
            target = &chunk;
        } else if (strcmp(a, "--seed") == 0) {
            target = &seed;
        }
        if (!target || i + 1 >= argc || !mrpc_parse_i64(argv[i + 1], target)) {
            fprintf(stderr, "mrpc-train bench: bad or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (B < 1 || B > 4096 || L < 1 || L > 512 || steps < 1 || steps > 100000 || warmup < 0 || threads < 1 ||
        threads > 1024 || chunk < 0 || chunk > (1 << 24) || n_checkpoints < 0 || n_checkpoints > 1000) {
        fprintf(stderr, "mrpc-train bench: need 1 <= batch <= 4096, 1 <= seq <= 512, steps >= 1, warmup >= 0, "
                        "threads >= 1\n");
        return 2;
    }
    mrpc_model_dims dims;
    mrpc_model_dims_default(&dims);
    /* A GPU takes the whole batch in one pass unless --chunk-tokens says otherwise. */
    if (kind == MRPC_BACKEND_CUDA && chunk == 0) chunk = B * L;
    mrpc_model_options o = {.backend = kind, .precision = prec, .n_threads = (int)threads,
                            .max_batch = (int)B, .max_seq = (int)L, .chunk_tokens = (int)chunk,
                            .no_prune = no_prune, .profile = profile};
    mrpc_error err = {0};
    mrpc_model *m = NULL;
    if (mrpc_model_create(&dims, &o, &m, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train bench", &err);
        return 1;
    }
    double t0 = mrpc_seconds_now();
    if (mrpc_model_init_random(m, (uint64_t)seed, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train bench", &err);
        mrpc_model_free(m);
        return 1;
    }
    double t_init = mrpc_seconds_now() - t0;
    size_t n_params = 0;
    mrpc_model_params(m, &n_params);
    printf("bench: distilbert-base-uncased, %zu parameters, batch %lld x seq %lld, precision %s, threads %lld, "
           "backend %s\n",
           n_params, (long long)B, (long long)L, mrpc_precision_name(prec), (long long)threads,
           mrpc_model_backend(m)->name);
    printf("bench: model memory %.1f MiB (4 slabs + activation arena), init %.2f s\n",
           (double)mrpc_model_bytes(m) / 1048576.0, t_init);

    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(B * L));
    int32_t *len = malloc(sizeof(int32_t) * (size_t)B);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)B);
    uint32_t *ex = malloc(sizeof(uint32_t) * (size_t)B);
    double *times = malloc(sizeof(double) * (size_t)steps);
    if (!ids || !len || !lab || !ex || !times) {
        fprintf(stderr, "mrpc-train bench: out of memory\n");
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
    mrpc_model_batch batch = {.B = (int)B, .T = (int)L, .ids = ids, .lengths = len, .labels = lab,
                              .example_index = ex, .seed = (uint64_t)seed, .dropout = {0.1, 0.1, 0.2},
                              .loss_scale = 1.0 / (double)B};
    int64_t total = warmup + steps;
    int rc = 0;
    for (int64_t k = 0; k < total; k++) {
        double s0 = mrpc_seconds_now();
        double loss = 0.0;
        batch.epoch = (uint32_t)k;
        mrpc_model_zero_grad(m);
        if (mrpc_model_forward_backward(m, &batch, &loss, NULL, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train bench", &err);
            rc = 1;
            break;
        }
        double s1 = mrpc_seconds_now();
        double norm = mrpc_model_clip_grad_norm(m, 1.0);
        mrpc_adamw_hparams hp = {.lr = mrpc_lr_linear_at_update(5e-5, k + 1, 0, total), .beta1 = 0.9,
                                 .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = k + 1};
        if (mrpc_model_adamw_step(m, &hp, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train bench", &err);
            rc = 1;
            break;
        }
        mrpc_backend *be = mrpc_model_backend(m);
        if (be->ops->synchronize) be->ops->synchronize(be); /* queued device work counts */
        double s2 = mrpc_seconds_now();
        printf("%s %lld time_s=%.4f fwd_bwd_s=%.4f clip_adamw_s=%.4f loss=%.5f grad_norm=%.4f\n",
               k < warmup ? "warmup" : "step", (long long)k, s2 - s0, s1 - s0, s2 - s1, loss / (double)B, norm);
        fflush(stdout);
        if (k >= warmup) {
            times[k - warmup] = s2 - s0;
        } else {
            mrpc_backend_profile_reset(mrpc_model_backend(m)); /* profile the timed steps only */
        }
    }
    if (rc == 0) {
        qsort(times, (size_t)steps, sizeof(double), cmp_double);
        double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
        mrpc_backend_profile_report(mrpc_model_backend(m), stdout);
        printf("median_step_s=%.4f\n", med);
        printf("min_step_s=%.4f\n", times[0]);
        printf("peak_rss_mb=%.1f\n", peak_rss_mb());
        printf("tokens_per_second=%.1f\n", (double)(B * L) / med);
    }
    if (rc == 0 && n_checkpoints > 0) rc = time_checkpoints(m, checkpoint_path, n_checkpoints);
    free(ids);
    free(len);
    free(lab);
    free(ex);
    free(times);
    mrpc_model_free(m);
    return rc;
}
