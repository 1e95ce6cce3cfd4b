/*
 * test_cuda_nccl.c — the NCCL gradient all-reduce (train/dist/dist_nccl.h) on 2 ranks.
 *
 *     mpiexec -n 2 test_cuda_nccl
 *
 * Each rank drives one GPU (local rank % devices) through a CUDA backend and:
 *   - sums a buffer of small integers (exact in float): every element must be the exact
 *     sum over ranks;
 *   - sums random floats on the device with NCCL and on the host with MPI
 *     (mrpc_dist_allreduce_sum_f32): with two ranks a + b is the same float either way,
 *     so the results must agree bitwise;
 *   - all-reduces a buffer the size of the DistilBERT gradient slab (66,955,010 floats)
 *     on the backend's stream and prints the time (information for the GPU session).
 * Every rank decides together: when any rank lacks a GPU, or there are not exactly 2
 * ranks, or a node has fewer GPUs than ranks, all ranks exit 77 ("Not Run").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda_backend.h"
#include "dist.h"
#include "dist_nccl.h"
#include "rng.h"
#include "testutil.h"
#include "timeutil.h"

static void skip_all(mrpc_dist *dist, const char *why) {
    mrpc_dist_free(dist);
    mrpc_test_skip(why);
}

int main(int argc, char **argv) {
    mrpc_error err = {0};
    mrpc_dist *dist = NULL;
    if (!CHECK_OK(mrpc_dist_init(&argc, &argv, 0, &dist, &err), &err)) {
        return mrpc_test_report();
    }
    const int rank = mrpc_dist_rank(dist), size = mrpc_dist_size(dist);
    const int n_dev = mrpc_backend_cuda_device_count();
    /* one decision for all ranks: [0] no device here, [1] fewer devices than ranks here */
    double missing[2] = {n_dev < 1 ? 1.0 : 0.0, n_dev < mrpc_dist_local_size(dist) ? 1.0 : 0.0};
    if (size > 1 && !CHECK_OK(mrpc_dist_allreduce_max_f64(dist, missing, 2, &err), &err)) {
        mrpc_dist_free(dist);
        return mrpc_test_report();
    }
    if (size != 2) {
        skip_all(dist, "needs exactly 2 MPI ranks (mpiexec -n 2)");
    }
    if (missing[0] > 0) {
        skip_all(dist, "no CUDA device on some rank");
    }
    if (missing[1] > 0) {
        skip_all(dist, "needs one GPU per rank (2 GPUs for 2 ranks on one node)");
    }
    const int dev = mrpc_nccl_pick_device(dist);
    printf("rank %d of %d: device %d of %d\n", rank, size, dev, n_dev);
    mrpc_backend_options o = {.kind = MRPC_BACKEND_CUDA, .precision = MRPC_PRECISION_FP32, .device = dev};
    mrpc_backend *be = NULL;
    mrpc_status st = mrpc_backend_cuda_create(&o, &be, &err);
    if (!CHECK_OK(mrpc_dist_agree(dist, st, &err), &err)) {
        mrpc_backend_free(be);
        mrpc_dist_free(dist);
        return mrpc_test_report();
    }
    mrpc_nccl *nc = NULL;
    if (!CHECK_OK(mrpc_nccl_create(dist, dev, &nc, &err), &err)) {
        mrpc_backend_free(be);
        mrpc_dist_free(dist);
        return mrpc_test_report();
    }
    void *stream = mrpc_backend_cuda_stream(be);

    /* 1. exact integer sums */
    const size_t n = ((size_t)1 << 20) + 3;
    float *h = malloc(sizeof(float) * n), *h2 = malloc(sizeof(float) * n);
    float *d = be->ops->alloc(be, sizeof(float) * n);
    if (!h || !h2 || !d) {
        CHECK(0, "out of memory");
        return mrpc_test_report();
    }
    for (size_t i = 0; i < n; i++) {
        h[i] = (float)((i % 1000) * (size_t)(rank + 1));
    }
    be->ops->copy_to_backend(be, d, h, sizeof(float) * n);
    CHECK_OK(mrpc_nccl_allreduce_sum_f32(nc, d, n, stream, &err), &err);
    be->ops->copy_to_host(be, h2, d, sizeof(float) * n);
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        exact &= h2[i] == (float)((i % 1000) * 3); /* rank 0 contributes 1x, rank 1 2x */
    }
    CHECK(exact, "rank %d: NCCL sum of integers is exact", rank);

    /* 2. random floats: NCCL on the device == MPI on the host, bitwise */
    mrpc_rng rng;
    mrpc_rng_init(&rng, 1234 + (uint64_t)rank, MRPC_RNG_TEST, 3);
    for (size_t i = 0; i < n; i++) {
        h[i] = (float)(mrpc_rng_uniform(&rng) * 2.0 - 1.0);
    }
    be->ops->copy_to_backend(be, d, h, sizeof(float) * n);
    CHECK_OK(mrpc_nccl_allreduce_sum_f32(nc, d, n, stream, &err), &err);
    be->ops->copy_to_host(be, h2, d, sizeof(float) * n);
    CHECK_OK(mrpc_dist_allreduce_sum_f32(dist, h, n, &err), &err);
    CHECK(memcmp(h, h2, sizeof(float) * n) == 0, "rank %d: NCCL sum == MPI sum bitwise", rank);

    /* 3. a gradient slab of distilbert-base size on the backend's stream */
    const size_t slab = 66955010;
    float *g = be->ops->alloc(be, sizeof(float) * slab);
    if (CHECK(g != NULL, "slab allocation")) {
        CHECK_OK(mrpc_nccl_allreduce_sum_f32(nc, g, slab, stream, &err), &err); /* warm-up */
        double t0 = mrpc_seconds_now();
        const int reps = 5;
        for (int k = 0; k < reps; k++) {
            CHECK_OK(mrpc_nccl_allreduce_sum_f32(nc, g, slab, stream, &err), &err);
        }
        double dt = (mrpc_seconds_now() - t0) / reps;
        if (rank == 0) {
            printf("all-reduce of %zu floats (%.0f MB): %.2f ms, algorithm bandwidth %.1f GB/s\n", slab,
                   slab * 4.0 / 1e6, dt * 1e3, slab * 4.0 / dt / 1e9);
        }
        be->ops->free_mem(be, g);
    }
    CHECK_OK(be->ops->get_error(be, &err), &err);
    be->ops->free_mem(be, d);
    free(h);
    free(h2);
    mrpc_nccl_free(nc);
    mrpc_backend_free(be);
    mrpc_dist_free(dist);
    return mrpc_test_report();
}
