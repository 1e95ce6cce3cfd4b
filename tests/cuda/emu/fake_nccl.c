/* fake_nccl.c — NCCL for the CPU emulator: an all-reduce of "device" (host) memory is an
   MPI_Allreduce over MPI_COMM_WORLD; the unique id must arrive intact through the bcast. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include "nccl.h"
struct ncclComm { int rank, n; };
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) { memset(id, 0, sizeof *id); strcpy(id->internal, "cuemu-nccl-id"); return ncclSuccess; }
ncclResult_t ncclCommInitRank(ncclComm_t *c, int nranks, ncclUniqueId id, int rank) {
    if (strcmp(id.internal, "cuemu-nccl-id") != 0) return ncclInvalidArgument; /* the bcast must have delivered it */
    *c = malloc(sizeof **c); (*c)->rank = rank; (*c)->n = nranks; return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t c) { free(c); return ncclSuccess; }
ncclResult_t ncclCommAbort(ncclComm_t c) { free(c); return ncclSuccess; }
ncclResult_t ncclCommGetAsyncError(ncclComm_t c, ncclResult_t *e) { (void)c; *e = ncclSuccess; return ncclSuccess; }
const char *ncclGetErrorString(ncclResult_t r) { return r ? "emulated nccl error" : "no error"; }
ncclResult_t ncclAllReduce(const void *s, void *r, size_t n, ncclDataType_t t, ncclRedOp_t op, ncclComm_t c, cudaStream_t st) {
    (void)t; (void)op; (void)c; (void)st;
    if (s != r) memcpy(r, s, n * 4);
    size_t done = 0;
    while (done < n) { int chunk = (int)(n - done > (1u << 30) ? (1u << 30) : n - done);
        if (MPI_Allreduce(MPI_IN_PLACE, (float *)r + done, chunk, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return ncclUnhandledCudaError;
        done += (size_t)chunk; }
    return ncclSuccess;
}
