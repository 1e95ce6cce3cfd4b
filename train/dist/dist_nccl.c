/* dist_nccl.c — the NCCL communicator and the device all-reduce (see dist_nccl.h). */
#include "dist_nccl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "cuda_check.h"

struct mrpc_nccl {
    ncclComm_t comm;
    int        rank, size, device;
    int        failed; /* a call failed: abort instead of a collective destroy */
};

/* What rank 0 broadcasts: whether it has an id, and the id. */
typedef struct id_msg {
    int32_t      ok;
    ncclUniqueId id;
} id_msg;

int mrpc_nccl_pick_device(const mrpc_dist *dist) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n < 1) {
        (void)cudaGetLastError();
        return -1;
    }
    return mrpc_dist_local_rank(dist) % n;
}

void mrpc_nccl_free(mrpc_nccl *nc) {
    if (!nc) {
        return;
    }
    if (nc->comm) {
        if (nc->failed) {
            ncclCommAbort(nc->comm); /* local: never waits for the other ranks */
        } else {
            ncclCommDestroy(nc->comm);
        }
    }
    free(nc);
}

mrpc_status mrpc_nccl_create(mrpc_dist *dist, int device, mrpc_nccl **out, mrpc_error *err) {
    *out = NULL;
    mrpc_error local;
    memset(&local, 0, sizeof local);
    mrpc_nccl *nc = calloc(1, sizeof *nc);
    if (!nc) {
        mrpc_error_set(&local, MRPC_ERR_NOMEM, NULL, 0, 0, "nccl", "out of memory");
    } else {
        nc->rank = mrpc_dist_rank(dist);
        nc->size = mrpc_dist_size(dist);
        nc->device = device;
        CUDA_CHECK(&local, cudaSetDevice(device), (void)0);
    }
    /* 1. every rank has its device (else all stop here, before any NCCL call) */
    mrpc_status st = mrpc_dist_agree(dist, local.status, &local);
    /* 2. rank 0's unique id to everyone */
    id_msg msg;
    memset(&msg, 0, sizeof msg);
    if (st == MRPC_OK && mrpc_dist_rank(dist) == 0) {
        NCCL_CHECK(&local, ncclGetUniqueId(&msg.id), (void)0);
        msg.ok = local.status == MRPC_OK;
    }
    if (st == MRPC_OK) {
        st = mrpc_dist_bcast(dist, &msg, sizeof msg, 0, &local);
    }
    if (st == MRPC_OK && !msg.ok) {
        st = mrpc_dist_rank(dist) == 0 ? local.status
                                        : mrpc_error_set(&local, MRPC_ERR_CUDA, NULL, 0, 0, "nccl",
                                                         "rank 0 could not create the NCCL unique id");
    }
    /* 3. join the communicator; agree on the outcome */
    if (st == MRPC_OK) {
        NCCL_CHECK(&local, ncclCommInitRank(&nc->comm, nc->size, msg.id, nc->rank), nc->failed = 1);
        st = mrpc_dist_agree(dist, local.status, &local);
    }
    if (st != MRPC_OK) {
        if (nc) {
            nc->failed = 1;
        }
        mrpc_nccl_free(nc);
        if (err) {
            *err = local;
        }
        return st;
    }
    *out = nc;
    return MRPC_OK;
}

mrpc_status mrpc_nccl_allreduce_sum_f32(mrpc_nccl *nc, float *dev_buf, size_t n_elems, void *stream, mrpc_error *err) {
    if (n_elems == 0) {
        return MRPC_OK;
    }
    mrpc_error local;
    memset(&local, 0, sizeof local);
    cudaStream_t s = (cudaStream_t)stream;
    ncclResult_t async = ncclSuccess;
    NCCL_CHECK(&local, ncclAllReduce(dev_buf, dev_buf, n_elems, ncclFloat32, ncclSum, nc->comm, s), goto fail);
    CUDA_CHECK(&local, cudaStreamSynchronize(s), goto fail);
    NCCL_CHECK(&local, ncclCommGetAsyncError(nc->comm, &async), goto fail);
    if (async != ncclSuccess) {
        mrpc_gpu_error(&local, "NCCL", (int)async, ncclGetErrorString(async), "ncclAllReduce (asynchronous error)",
                       __func__, __FILE__, __LINE__);
        goto fail;
    }
    return MRPC_OK;
fail:
    nc->failed = 1;
    if (err) {
        *err = local;
    }
    return local.status;
}
