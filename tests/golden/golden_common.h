/*
 * golden_common.h — what the golden tests share (tests/golden/test_golden.c on the CPU,
 * tests/cuda/test_cuda_golden.c on the GPU): the reference dump written by
 * tests/golden/make_reference.py (magic "MRPCGLD", version 1, named f32/i32/f64 records),
 * the tolerance comparison that prints the first values and the largest difference
 * (llm.c style), the reference batches, and the two checks every backend must pass:
 * logits, loss and every gradient of the reference batch, and K AdamW updates with
 * warmup, weight decay and clipping against torch's losses, norms, rates and final
 * weights. Failures are recorded with CHECK (testutil.h).
 */
#ifndef MRPC_GOLDEN_COMMON_H
#define MRPC_GOLDEN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

typedef struct golden_rec {
    char    *name;
    uint32_t dtype; /* 0 f32, 1 i32, 2 f64 */
    uint32_t n_dims;
    uint64_t dims[8];
    size_t   n;
    void    *data;
} golden_rec;

typedef struct golden_dump {
    golden_rec   *r;
    size_t n;
} golden_dump;

typedef struct golden_tol {
    int    normwise; /* 0: elementwise |d| <= abs + rel*|want|; 1: ||d|| <= rel*||want|| + abs*sqrt(n) */
    double abs, rel;
    /* elementwise only: up to one value per thousand (at least one) may miss abs + rel*|want|
       if it is within outlier_abs (0: none may). For weights after AdamW updates, see
       golden_check_training. */
    double outlier_abs;
} golden_tol;

typedef struct golden_batch {
    int       B, T;
    int32_t  *ids, *len, *lab;
    uint32_t *ex;
} golden_batch;

/* Reads the dump at `path` (1) or prints why it cannot (0). */
int  golden_dump_load(const char *path, golden_dump *d);
void golden_dump_free(golden_dump *d);
/* The record called `name` (prefix + name for findp), or NULL with a message. */
const golden_rec *golden_find(const golden_dump *d, const char *name);
const golden_rec *golden_findp(const golden_dump *d, const char *prefix, const char *name);
/* 1 for attention.k_lin.bias, whose true gradient is zero (see golden_common.c). */
int golden_is_k_bias(const char *name);
/* Compares got with want under t, CHECKs it, prints a line when verbose or failing;
 * returns the largest absolute difference. */
double golden_compare(const char *what, const float *got, const float *want, size_t n, golden_tol t, int verbose);
/* The batch stored under `prefix` (ids, lengths, labels); g->ex is malloc'd (free it). */
int              golden_batch_from(const golden_dump *d, const char *prefix, golden_batch *g);
mrpc_model_batch golden_model_batch(const golden_batch *g);
/* Loads the golden checkpoint into a model of `kind`. With create_status not NULL, a
 * CUDA model that cannot be created returns NULL and the status without failing a check
 * (the caller skips); anything else that fails is a failed check. */
mrpc_model *golden_load(const char *ckpt, mrpc_backend_kind kind, mrpc_precision prec, int no_prune, int chunk,
                        int threads, mrpc_status *create_status);
/* Logits, loss and every gradient of the reference batch against the records under
 * `prefix` ("" for fp32 torch, "bf16." for torch with bf16-rounded linear operands). */
void golden_check_gradients(mrpc_model *m, const golden_dump *d, const char *prefix, const char *tag, golden_tol tl,
                            golden_tol tg, int verbose);
/* Runs the K reference updates; returns the final parameters (host, caller frees). */
float *golden_train(mrpc_model *m, const golden_dump *d, double *losses, double *norms, double *lrs, int *K_out);
/* The K updates against torch: per-update loss, grad norm, learning rate, final weights. */
void golden_check_training(mrpc_model *m, const golden_dump *d, const char *prefix, const char *tag, golden_tol tloss,
                           golden_tol tw, double tnorm, int verbose);

#endif /* MRPC_GOLDEN_COMMON_H */
