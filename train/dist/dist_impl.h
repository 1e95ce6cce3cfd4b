/*
 * dist_impl.h — the vtable behind dist.h. Each implementation (single, mpi) fills one;
 * dist.c dispatches. Private to train/dist.
 */
#ifndef MRPC_DIST_DIST_IMPL_H
#define MRPC_DIST_DIST_IMPL_H

#include "call_watch.h"
#include "dist.h"

typedef enum mrpc_dist_op { MRPC_DIST_SUM = 0, MRPC_DIST_MAX } mrpc_dist_op;
typedef enum mrpc_dist_type { MRPC_DIST_F32 = 0, MRPC_DIST_F64, MRPC_DIST_I64 } mrpc_dist_type;

typedef struct mrpc_dist_impl {
    const char *name;
    /* In-place reduction over ranks. */
    mrpc_status (*allreduce)(mrpc_dist *dist, void *buf, size_t n_elems, mrpc_dist_type type, mrpc_dist_op op,
                             mrpc_error *err);
    /* Non-blocking in-place float sum; req->impl is set to a handle or NULL when done. */
    mrpc_status (*iallreduce_f32)(mrpc_dist *dist, float *buf, size_t n_elems, mrpc_dist_request *req,
                                  mrpc_error *err);
    mrpc_status (*wait)(mrpc_dist *dist, mrpc_dist_request *req, mrpc_error *err);
    mrpc_status (*test)(mrpc_dist *dist, mrpc_dist_request *req, int *done, mrpc_error *err);
    mrpc_status (*bcast)(mrpc_dist *dist, void *buf, size_t n_bytes, int root, mrpc_error *err);
    mrpc_status (*barrier)(mrpc_dist *dist, mrpc_error *err);
    void (*abort)(mrpc_dist *dist, int code);
    void (*finalize)(mrpc_dist *dist);
} mrpc_dist_impl;

struct mrpc_dist {
    const mrpc_dist_impl *impl;
    int                   rank, size, local_rank, local_size;
    void                 *state; /* implementation data (the MPI communicator) */
    /* The stop watch (mrpc_dist_watch_stop): a collective still waiting `grace` seconds
     * after `stop_probe` said yes gives up; then the communicator is `broken`. */
    int                 (*stop_probe)(const void *ctx);
    const void           *stop_ctx;
    double                grace;
    int                   broken;
    mrpc_error            lost; /* why it broke: every later collective reports it */
    /* Watches the MPI calls themselves, for a call that never returns (call_watch.h);
     * NULL until mrpc_dist_watch_stuck asks for it. */
    mrpc_call_watch      *call_watch;
};

/* Starts MPI when the launcher says there are several ranks. *started is 0 when MPI is
 * not available or not wanted (then the single implementation is used). */
mrpc_status mrpc_dist_mpi_start(int *argc, char ***argv, mrpc_dist *dist, int *started, mrpc_error *err);

#endif /* MRPC_DIST_DIST_IMPL_H */
