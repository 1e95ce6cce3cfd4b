/* dist_mpi.c — the MPI implementation of dist.h: a duplicated communicator with
 * MPI_ERRORS_RETURN, every call checked. Without MPI in the build it reports "not
 * started" and the single implementation stays in place. */
#include "dist_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "timeutil.h"

/* Value of an integer environment variable, 0 when unset or not a number. */
static int64_t env_int(const char *name) {
    const char *v = getenv(name);
    int64_t n = 0;
    return v && mrpc_parse_i64(v, &n) ? n : 0;
}

#if defined(MRPC_HAVE_MPI)
#include <mpi.h>

typedef struct mpi_state {
    MPI_Comm comm;
    int      owns_mpi; /* this module called MPI_Init */
} mpi_state;

/* Turns an MPI return code into an error record naming the call and the rank. */
static mrpc_status mpi_check(int rc, const char *call, int rank, mrpc_error *err) {
    if (rc == MPI_SUCCESS) return MRPC_OK;
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", rc);
    return mrpc_error_set(err, MRPC_ERR_MPI, NULL, 0, 0, call, "rank %d: %s", rank, text);
}
#define MPI_CHECK_(call, d) \
    do { mrpc_status s_ = mpi_check((call), #call, (d)->rank, err); if (s_ != MRPC_OK) return s_; } while (0)

static MPI_Comm comm_of(mrpc_dist *d) { return ((mpi_state *)d->state)->comm; }

/* The MPI calls that talk to peers, under the call watch (call_watch.h): Open MPI's TCP
 * transport can deadlock inside them when a peer dies. */
static int watched_test(mrpc_dist *d, MPI_Request *r, int *flag) {
    mrpc_call_watch_enter(d->call_watch, "MPI_Test");
    int rc = MPI_Test(r, flag, MPI_STATUS_IGNORE);
    mrpc_call_watch_leave(d->call_watch);
    return rc;
}
static int watched_iallreduce(mrpc_dist *d, void *buf, int count, MPI_Datatype type, MPI_Op op, MPI_Request *r) {
    mrpc_call_watch_enter(d->call_watch, "MPI_Iallreduce");
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, count, type, op, comm_of(d), r);
    mrpc_call_watch_leave(d->call_watch);
    return rc;
}
static int watched_ibcast(mrpc_dist *d, void *buf, int count, int root, MPI_Request *r) {
    mrpc_call_watch_enter(d->call_watch, "MPI_Ibcast");
    int rc = MPI_Ibcast(buf, count, MPI_BYTE, root, comm_of(d), r);
    mrpc_call_watch_leave(d->call_watch);
    return rc;
}
static int watched_ibarrier(mrpc_dist *d, MPI_Request *r) {
    mrpc_call_watch_enter(d->call_watch, "MPI_Ibarrier");
    int rc = MPI_Ibarrier(comm_of(d), r);
    mrpc_call_watch_leave(d->call_watch);
    return rc;
}

/*
 * Completes *r by polling MPI_Test (what MPI_Wait does inside Open MPI), so that the stop
 * watch of dist.h can give up on a collective that a lost rank will never complete. The
 * abandoned request is left to the process exit.
 */
static mrpc_status complete(mrpc_dist *d, MPI_Request *r, const char *call, mrpc_error *err) {
    if (d->broken) {
        if (err) *err = d->lost;
        return MRPC_ERR_MPI;
    }
    double stop_seen = -1.0;
    for (unsigned long spin = 0;; spin++) {
        int flag = 0;
        int rc = watched_test(d, r, &flag);
        if (rc != MPI_SUCCESS) {
            d->broken = 1;
            mpi_check(rc, call, d->rank, &d->lost);
            if (err) *err = d->lost;
            return MRPC_ERR_MPI;
        }
        if (flag) return MRPC_OK;
        if ((spin & 1023) != 1023 || !d->stop_probe) continue;
        if (stop_seen < 0) {
            if (d->stop_probe(d->stop_ctx)) stop_seen = mrpc_seconds_now();
        } else if (mrpc_seconds_now() - stop_seen > d->grace) {
            d->broken = 1;
            mrpc_error_set(&d->lost, MRPC_ERR_MPI, NULL, 0, 0, call,
                           "rank %d: the other ranks did not complete %s within %.0f s after a stop signal (a rank "
                           "died, or its node or network was lost)", d->rank, call, d->grace);
            if (err) *err = d->lost;
            return MRPC_ERR_MPI;
        }
    }
}

static MPI_Datatype mpi_type(mrpc_dist_type t) {
    switch (t) {
    case MRPC_DIST_F32: return MPI_FLOAT;
    case MRPC_DIST_F64: return MPI_DOUBLE;
    default: return MPI_INT64_T;
    }
}

/* MPI counts are int: large buffers go in pieces. */
#define MAX_CHUNK ((size_t)1 << 30)

static size_t type_size(mrpc_dist_type t) { return t == MRPC_DIST_F32 ? 4 : 8; }

static mrpc_status mpi_allreduce(mrpc_dist *d, void *buf, size_t n, mrpc_dist_type t, mrpc_dist_op op,
                                 mrpc_error *err) {
    char *p = buf;
    while (n > 0) {
        size_t chunk = n < MAX_CHUNK ? n : MAX_CHUNK;
        MPI_Request r;
        MPI_CHECK_(watched_iallreduce(d, p, (int)chunk, mpi_type(t), op == MRPC_DIST_SUM ? MPI_SUM : MPI_MAX, &r), d);
        mrpc_status s = complete(d, &r, "MPI_Iallreduce", err);
        if (s != MRPC_OK) return s;
        p += chunk * type_size(t);
        n -= chunk;
    }
    return MRPC_OK;
}

static mrpc_status mpi_iallreduce(mrpc_dist *d, float *buf, size_t n, mrpc_dist_request *req, mrpc_error *err) {
    req->impl = NULL;
    if (n > MAX_CHUNK) {
        /* Buckets are far smaller than 2^30 floats; fall back to blocking for safety. */
        return mpi_allreduce(d, buf, n, MRPC_DIST_F32, MRPC_DIST_SUM, err);
    }
    MPI_Request *r = malloc(sizeof *r);
    if (!r) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    int rc = watched_iallreduce(d, buf, (int)n, MPI_FLOAT, MPI_SUM, r);
    if (rc != MPI_SUCCESS) {
        free(r);
        return mpi_check(rc, "MPI_Iallreduce", d->rank, err);
    }
    req->impl = r;
    return MRPC_OK;
}

static mrpc_status mpi_wait(mrpc_dist *d, mrpc_dist_request *req, mrpc_error *err) {
    MPI_Request *r = req->impl;
    req->impl = NULL;
    mrpc_status s = complete(d, r, "MPI_Wait", err);
    if (s == MRPC_OK) free(r); /* an abandoned request stays allocated: MPI may still write it */
    return s;
}

static mrpc_status mpi_test(mrpc_dist *d, mrpc_dist_request *req, int *done, mrpc_error *err) {
    MPI_Request *r = req->impl;
    int flag = 0;
    int rc = watched_test(d, r, &flag);
    if (rc != MPI_SUCCESS) return mpi_check(rc, "MPI_Test", d->rank, err);
    if (flag) {
        free(r);
        req->impl = NULL;
    }
    if (done) *done = flag;
    return MRPC_OK;
}

static mrpc_status mpi_bcast(mrpc_dist *d, void *buf, size_t n, int root, mrpc_error *err) {
    char *p = buf;
    while (n > 0) {
        size_t chunk = n < MAX_CHUNK ? n : MAX_CHUNK;
        MPI_Request r;
        MPI_CHECK_(watched_ibcast(d, p, (int)chunk, root, &r), d);
        mrpc_status s = complete(d, &r, "MPI_Ibcast", err);
        if (s != MRPC_OK) return s;
        p += chunk;
        n -= chunk;
    }
    return MRPC_OK;
}

static mrpc_status mpi_barrier(mrpc_dist *d, mrpc_error *err) {
    MPI_Request r;
    MPI_CHECK_(watched_ibarrier(d, &r), d);
    return complete(d, &r, "MPI_Ibarrier", err);
}

static void mpi_abort(mrpc_dist *d, int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static void mpi_finalize(mrpc_dist *d) {
    mpi_state *st = d->state;
    if (!st) return;
    MPI_Comm_free(&st->comm);
    if (st->owns_mpi) MPI_Finalize();
    free(st);
    d->state = NULL;
}

static const mrpc_dist_impl mpi_impl = {
    "mpi", mpi_allreduce, mpi_iallreduce, mpi_wait, mpi_test, mpi_bcast, mpi_barrier, mpi_abort, mpi_finalize,
};

/* True when a launcher (mpirun, srun with PMI/PMIx) started this process among several. */
static int launched_as_ranks(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (env_int(vars[i]) > 1) return 1; /* a hint only: the real size comes from MPI */
    }
    /* PMIx under srun --mpi=pmix sets PMIX_RANK but not always a size. */
    return getenv("PMIX_RANK") != NULL || getenv("OMPI_COMM_WORLD_RANK") != NULL;
}

mrpc_status mrpc_dist_mpi_start(int *argc, char ***argv, mrpc_dist *d, int *started, mrpc_error *err) {
    *started = 0;
    int initialized = 0;
    MPI_CHECK_(MPI_Initialized(&initialized), d);
    if (!initialized && !launched_as_ranks()) return MRPC_OK;
    mpi_state *st = calloc(1, sizeof *st);
    if (!st) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    if (!initialized) {
        int provided = 0;
        int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) { free(st); return mpi_check(rc, "MPI_Init_thread", 0, err); }
        st->owns_mpi = 1;
        if (provided < MPI_THREAD_FUNNELED) {
            MPI_Finalize();
            free(st);
            return mrpc_error_set(err, MRPC_ERR_MPI, NULL, 0, 0, "MPI_Init_thread",
                                  "MPI provides thread level %d, FUNNELED (%d) is needed for OpenMP ranks", provided,
                                  MPI_THREAD_FUNNELED);
        }
    }
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &st->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(st->comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(st->comm, &d->rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(st->comm, &d->size);
    MPI_Comm node = MPI_COMM_NULL;
    if (rc == MPI_SUCCESS) rc = MPI_Comm_split_type(st->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(node, &d->local_rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(node, &d->local_size);
    if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
    if (rc != MPI_SUCCESS) {
        mrpc_status s = mpi_check(rc, "MPI communicator setup", d->rank, err);
        if (st->owns_mpi) MPI_Finalize();
        free(st);
        return s;
    }
    d->state = st;
    d->impl = &mpi_impl;
    *started = 1;
    return MRPC_OK;
}

#else /* !MRPC_HAVE_MPI */

mrpc_status mrpc_dist_mpi_start(int *argc, char ***argv, mrpc_dist *d, int *started, mrpc_error *err) {
    *started = 0;
    int64_t size = env_int("OMPI_COMM_WORLD_SIZE");
    if (size > 1) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, NULL,
                              "started as %lld MPI ranks, but this build has no MPI (configure with -DMRPC_MPI=ON)",
                              (long long)size);
    }
    return MRPC_OK;
}

#endif
