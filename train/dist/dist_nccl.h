/*
 * dist_nccl.h — NCCL all-reduce of device buffers, for data-parallel training on the
 * CUDA backend (one process per GPU).
 *
 * The communicator is set up from an existing MPI dist (dist.h): rank 0 makes the NCCL
 * unique id (ncclGetUniqueId), mrpc_dist_bcast sends it to every rank, and each rank
 * joins with ncclCommInitRank on its local GPU. The gradient slab, which lives in device
 * memory, is then summed in place with ncclAllReduce on the CUDA backend's stream (so it
 * is ordered after the backward pass and before clipping), never staged through the
 * host. Every NCCL and CUDA return code is checked (train/backend/cuda/cuda_check.h).
 * Built only with MRPC_HAVE_NCCL (which needs CUDA and MPI).
 *
 * Per run (every rank):
 *
 *     int dev = mrpc_nccl_pick_device(dist);                 (local rank % GPUs per node)
 *     ... create the model/backend on device dev ...
 *     mrpc_nccl *nc = NULL;
 *     mrpc_nccl_create(dist, dev, &nc, &err);                 (collective)
 *     per step:  mrpc_nccl_allreduce_sum_f32(nc, grads, n, mrpc_backend_cuda_stream(be), &err);
 *     mrpc_nccl_free(nc);
 */
#ifndef MRPC_DIST_NCCL_H
#define MRPC_DIST_NCCL_H

#include <stddef.h>

#include "dist.h"
#include "status.h"

typedef struct mrpc_nccl mrpc_nccl; /* opaque */

/*
 * The CUDA device for this rank: mrpc_dist_local_rank(dist) modulo the number of devices
 * this process sees; -1 when it sees none.
 */
int mrpc_nccl_pick_device(const mrpc_dist *dist);

/*
 * Collective over every rank of `dist`: makes `device` current (cudaSetDevice) and
 * creates an NCCL communicator of mrpc_dist_size(dist) ranks. All ranks agree on the
 * outcome (mrpc_dist_agree): on any rank's failure every rank returns that error
 * (MRPC_ERR_CUDA for CUDA/NCCL, naming the call) and *out is NULL. A failure inside
 * ncclCommInitRank itself can leave the other ranks waiting in it (NCCL's own bootstrap
 * timeout applies). Free with mrpc_nccl_free.
 */
mrpc_status mrpc_nccl_create(mrpc_dist *dist, int device, mrpc_nccl **out, mrpc_error *err);

/* Destroys the communicator (aborts it after a failure, so no rank waits); NULL is fine. */
void mrpc_nccl_free(mrpc_nccl *nc);

/*
 * In-place sum over ranks of n_elems floats in device memory, enqueued on `stream` (a
 * cudaStream_t; NULL is the legacy default stream, which orders with the CUDA backend's
 * blocking stream too). Waits for the result and checks NCCL's asynchronous error state,
 * so a MRPC_OK return means dev_buf holds the sum. Not collective-safe on failure: call
 * mrpc_dist_agree afterwards as for any other collective.
 */
mrpc_status mrpc_nccl_allreduce_sum_f32(mrpc_nccl *nc, float *dev_buf, size_t n_elems, void *stream, mrpc_error *err);

#endif /* MRPC_DIST_NCCL_H */
