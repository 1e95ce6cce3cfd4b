/* dist.c — dispatch to the collective implementation, and the single-process one (see dist.h). */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist_impl.h"
#include "strutil.h"

/* ---- single process: every collective is the identity ---------------------------- */

static mrpc_status single_allreduce(mrpc_dist *d, void *buf, size_t n, mrpc_dist_type t, mrpc_dist_op op,
                                    mrpc_error *err) {
    return MRPC_OK;
}
static mrpc_status single_iallreduce(mrpc_dist *d, float *buf, size_t n, mrpc_dist_request *req, mrpc_error *err) {
    req->impl = NULL;
    return MRPC_OK;
}
static mrpc_status single_wait(mrpc_dist *d, mrpc_dist_request *req, mrpc_error *err) { return MRPC_OK; }
static mrpc_status single_test(mrpc_dist *d, mrpc_dist_request *req, int *done, mrpc_error *err) {
    if (done) *done = 1;
    return MRPC_OK;
}
static mrpc_status single_bcast(mrpc_dist *d, void *buf, size_t n, int root, mrpc_error *err) { return MRPC_OK; }
static mrpc_status single_barrier(mrpc_dist *d, mrpc_error *err) { return MRPC_OK; }
static void single_abort(mrpc_dist *d, int code) { exit(code); }
static void single_finalize(mrpc_dist *d) {}

static const mrpc_dist_impl single_impl = {
    "single", single_allreduce, single_iallreduce, single_wait, single_test, single_bcast, single_barrier, single_abort,
    single_finalize,
};

/* ---- dispatch ------------------------------------------------------------------------ */

mrpc_status mrpc_dist_init(int *argc, char ***argv, int force_single, mrpc_dist **out, mrpc_error *err) {
    *out = NULL;
    mrpc_dist *d = calloc(1, sizeof *d);
    if (!d) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    d->impl = &single_impl;
    d->rank = 0;
    d->size = 1;
    d->local_rank = 0;
    d->local_size = 1;
    if (!force_single) {
        int started = 0;
        mrpc_status s = mrpc_dist_mpi_start(argc, argv, d, &started, err);
        if (s != MRPC_OK) {
            free(d);
            return s;
        }
    }
    *out = d;
    return MRPC_OK;
}

void mrpc_dist_free(mrpc_dist *dist) {
    if (!dist) return;
    if (!dist->broken) dist->impl->finalize(dist); /* MPI_Finalize would wait for a dead rank */
    mrpc_call_watch_free(dist->call_watch);
    free(dist);
}

void mrpc_dist_watch_stop(mrpc_dist *dist, int (*stop_probe)(const void *ctx), const void *ctx, double grace_seconds) {
    dist->stop_probe = stop_probe;
    dist->stop_ctx = ctx;
    dist->grace = grace_seconds;
    mrpc_call_watch_set_probe(dist->call_watch, stop_probe, ctx, grace_seconds);
}

mrpc_status mrpc_dist_watch_stuck(mrpc_dist *dist, void (*on_stuck)(void *ctx, const char *call, double seconds),
                                  void *ctx, int exit_code, mrpc_error *err) {
    if (dist->size == 1 || strcmp(dist->impl->name, "mpi") != 0) return MRPC_OK;
    if (!dist->call_watch) {
        mrpc_status s = mrpc_call_watch_start(exit_code, &dist->call_watch, err);
        if (s != MRPC_OK) return s;
        mrpc_call_watch_set_probe(dist->call_watch, dist->stop_probe, dist->stop_ctx, dist->grace);
    }
    mrpc_call_watch_on_stuck(dist->call_watch, on_stuck, ctx);
    return MRPC_OK;
}

int mrpc_dist_broken(const mrpc_dist *dist) { return dist->broken; }

int mrpc_dist_rank(const mrpc_dist *dist) { return dist->rank; }
int mrpc_dist_size(const mrpc_dist *dist) { return dist->size; }
int mrpc_dist_local_rank(const mrpc_dist *dist) { return dist->local_rank; }
int mrpc_dist_local_size(const mrpc_dist *dist) { return dist->local_size; }
const char *mrpc_dist_kind(const mrpc_dist *dist) { return dist->impl->name; }

mrpc_status mrpc_dist_allreduce_sum_f32(mrpc_dist *dist, float *buf, size_t n, mrpc_error *err) {
    return dist->impl->allreduce(dist, buf, n, MRPC_DIST_F32, MRPC_DIST_SUM, err);
}
mrpc_status mrpc_dist_allreduce_sum_f64(mrpc_dist *dist, double *buf, size_t n, mrpc_error *err) {
    return dist->impl->allreduce(dist, buf, n, MRPC_DIST_F64, MRPC_DIST_SUM, err);
}
mrpc_status mrpc_dist_allreduce_sum_i64(mrpc_dist *dist, int64_t *buf, size_t n, mrpc_error *err) {
    return dist->impl->allreduce(dist, buf, n, MRPC_DIST_I64, MRPC_DIST_SUM, err);
}
mrpc_status mrpc_dist_allreduce_max_f64(mrpc_dist *dist, double *buf, size_t n, mrpc_error *err) {
    return dist->impl->allreduce(dist, buf, n, MRPC_DIST_F64, MRPC_DIST_MAX, err);
}
mrpc_status mrpc_dist_iallreduce_sum_f32(mrpc_dist *dist, float *buf, size_t n, mrpc_dist_request *req,
                                         mrpc_error *err) {
    return dist->impl->iallreduce_f32(dist, buf, n, req, err);
}
mrpc_status mrpc_dist_wait(mrpc_dist *dist, mrpc_dist_request *req, mrpc_error *err) {
    if (!req->impl) return MRPC_OK;
    return dist->impl->wait(dist, req, err);
}
mrpc_status mrpc_dist_test(mrpc_dist *dist, mrpc_dist_request *req, int *done, mrpc_error *err) {
    if (!req->impl) {
        if (done) *done = 1;
        return MRPC_OK;
    }
    return dist->impl->test(dist, req, done, err);
}
mrpc_status mrpc_dist_bcast(mrpc_dist *dist, void *buf, size_t n, int root, mrpc_error *err) {
    return dist->impl->bcast(dist, buf, n, root, err);
}
mrpc_status mrpc_dist_barrier(mrpc_dist *dist, mrpc_error *err) { return dist->impl->barrier(dist, err); }
void mrpc_dist_abort(mrpc_dist *dist, int code) { dist->impl->abort(dist, code); }
void *mrpc_dist_mpi_comm(mrpc_dist *dist) { return dist->size > 1 || strcmp(dist->impl->name, "mpi") == 0 ? dist->state : NULL; }

/*
 * Agreement: an all-reduce of (failed flag, lowest failing rank), then a broadcast of
 * that rank's error record. Two small collectives, only at phase boundaries.
 */
mrpc_status mrpc_dist_agree(mrpc_dist *dist, mrpc_status local, mrpc_error *err) {
    if (dist->size == 1) return local;
    mrpc_error scratch = {0};
    mrpc_error *e = err ? err : &scratch;
    double lowest = local != MRPC_OK ? (double)dist->rank : 1e9;
    double neg = -lowest; /* max of -rank = -(min rank) */
    mrpc_error comm_err = {0};
    if (mrpc_dist_allreduce_max_f64(dist, &neg, 1, &comm_err) != MRPC_OK) {
        *e = comm_err;
        return comm_err.status;
    }
    double failing = -neg;
    if (failing >= 1e9) return MRPC_OK;
    int root = (int)failing;
    mrpc_error shared = {0};
    if (dist->rank == root) shared = *e, shared.status = local;
    if (mrpc_dist_bcast(dist, &shared, sizeof shared, root, &comm_err) != MRPC_OK) {
        *e = comm_err;
        return comm_err.status;
    }
    if (dist->rank != root) {
        *e = shared;
        mrpc_error_prefix(e, "rank %d: ", root);
    }
    return shared.status != MRPC_OK ? shared.status : MRPC_ERR_INTERNAL;
}
