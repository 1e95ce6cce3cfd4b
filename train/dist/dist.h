/*
 * dist.h — the collectives data-parallel training needs, behind one small interface.
 *
 * Implementations, chosen at build time (MRPC_HAVE_MPI, MRPC_HAVE_NCCL) and at run time
 * (mrpc_dist_init picks MPI when the process was started by mpirun/srun with more than
 * one rank, a single-process stub otherwise):
 *   - single: every collective is the identity; size 1, rank 0;
 *   - mpi:    MPI on a private duplicate of MPI_COMM_WORLD whose error handler returns
 *             errors (MPI_ERRORS_RETURN); every return code is checked and turned into
 *             an error record naming the call and the rank;
 *   - nccl:   all-reduce of device buffers for the CUDA backend (see dist_nccl.h),
 *             set up from the MPI communicator.
 *
 * Failure handling: a rank that fails calls mrpc_dist_agree with its status; every rank
 * calls it at the same points, so all of them learn that one failed (and its message)
 * and stop together instead of hanging in the next collective. mrpc_dist_abort is the
 * last resort when a rank cannot reach the next agreement point.
 */
#ifndef MRPC_DIST_DIST_H
#define MRPC_DIST_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct mrpc_dist mrpc_dist; /* opaque */

/* Non-blocking all-reduce in flight (see mrpc_dist_iallreduce_sum_f32). */
typedef struct mrpc_dist_request {
    void *impl; /* implementation's request handle; NULL when already complete */
} mrpc_dist_request;

/*
 * Starts the collective layer. With MPI built in and the process launched as several
 * ranks, initialises MPI (thread level FUNNELED, checked) and duplicates the world
 * communicator; otherwise returns the single-process implementation. `force_single`
 * skips MPI entirely. On failure *out is NULL.
 */
mrpc_status mrpc_dist_init(int *argc, char ***argv, int force_single, mrpc_dist **out, mrpc_error *err);

/* Ends the collective layer (MPI_Finalize when this module initialised MPI). NULL is fine. */
void mrpc_dist_free(mrpc_dist *dist);

int         mrpc_dist_rank(const mrpc_dist *dist);
int         mrpc_dist_size(const mrpc_dist *dist);
/* Rank among the ranks of this node (MPI_Comm_split_type SHARED), for picking a GPU. */
int         mrpc_dist_local_rank(const mrpc_dist *dist);
/* Number of ranks on this node, for sharing its cores between them. */
int         mrpc_dist_local_size(const mrpc_dist *dist);
/* "single" or "mpi". */
const char *mrpc_dist_kind(const mrpc_dist *dist);

/* In-place sum over ranks of n_elems values. */
mrpc_status mrpc_dist_allreduce_sum_f32(mrpc_dist *dist, float *buf, size_t n_elems, mrpc_error *err);
mrpc_status mrpc_dist_allreduce_sum_f64(mrpc_dist *dist, double *buf, size_t n_elems, mrpc_error *err);
mrpc_status mrpc_dist_allreduce_sum_i64(mrpc_dist *dist, int64_t *buf, size_t n_elems, mrpc_error *err);
/* In-place maximum over ranks. */
mrpc_status mrpc_dist_allreduce_max_f64(mrpc_dist *dist, double *buf, size_t n_elems, mrpc_error *err);

/*
 * Starts an in-place sum of n_elems floats and returns at once; complete it with
 * mrpc_dist_wait before touching `buf`. Used to overlap the gradient all-reduce of one
 * bucket with the backward pass of the layers below it.
 */
mrpc_status mrpc_dist_iallreduce_sum_f32(mrpc_dist *dist, float *buf, size_t n_elems, mrpc_dist_request *req,
                                         mrpc_error *err);
mrpc_status mrpc_dist_wait(mrpc_dist *dist, mrpc_dist_request *req, mrpc_error *err);
/* Lets MPI make progress on `req` without blocking; *done (may be NULL) says whether it
 * completed (then req is released as by mrpc_dist_wait). */
mrpc_status mrpc_dist_test(mrpc_dist *dist, mrpc_dist_request *req, int *done, mrpc_error *err);

/* Broadcasts n_bytes from `root` to every rank. */
mrpc_status mrpc_dist_bcast(mrpc_dist *dist, void *buf, size_t n_bytes, int root, mrpc_error *err);

mrpc_status mrpc_dist_barrier(mrpc_dist *dist, mrpc_error *err);

/*
 * Collective agreement on success: every rank passes its local status and error; all
 * ranks return MRPC_OK only if every rank succeeded. Otherwise every rank returns the
 * failing status and receives, in *err, the error record of the lowest failing rank
 * (its message prefixed with "rank N: " on the other ranks).
 */
mrpc_status mrpc_dist_agree(mrpc_dist *dist, mrpc_status local, mrpc_error *err);

/*
 * The stop watch: a rank that dies (kill -9, OOM, a lost node) leaves the others blocked
 * in the next collective, which Open MPI 4.1 never ends (no fault tolerance), and Slurm
 * then only tells them to stop: `srun --kill-on-bad-exit` (slurm/task.sh) or a node
 * failure sends SIGTERM, SIGKILL after KillWait. So every collective waits by polling,
 * and once `stop_probe(ctx)` says a stop was requested, a collective that has not
 * completed `grace_seconds` later gives up with MRPC_ERR_MPI ("... lost a rank"): the
 * trainer then records the failure within seconds instead of hanging until SIGKILL.
 * Live ranks reach their collectives within a step of a stop signal, so grace should
 * exceed the longest step. After such a failure the communicator is broken: later
 * collectives fail at once and mrpc_dist_free skips MPI_Finalize (which would wait for
 * the dead rank). A NULL probe turns the watch off (for phases that may legitimately
 * wait long, such as rank 0 writing a checkpoint).
 */
void mrpc_dist_watch_stop(mrpc_dist *dist, int (*stop_probe)(const void *ctx), const void *ctx, double grace_seconds);

/*
 * The stop watch needs MPI_Test to return, and Open MPI 4.1's TCP transport can deadlock
 * inside it when a peer dies with a send to it in flight. With several MPI ranks this
 * starts a watchdog thread (call_watch.h) that sees an MPI call still running `grace`
 * seconds after a stop signal (the probe and grace of mrpc_dist_watch_stop): it calls
 * on_stuck(ctx, call, seconds) on its own thread, while this thread is stuck inside MPI,
 * and ends the process with `exit_code`. A no-op for a single rank. on_stuck may be NULL;
 * calling it again only replaces on_stuck (the watch keeps its first exit code).
 */
mrpc_status mrpc_dist_watch_stuck(mrpc_dist *dist, void (*on_stuck)(void *ctx, const char *call, double seconds),
                                  void *ctx, int exit_code, mrpc_error *err);
/* Whether a collective gave up on a lost rank (see mrpc_dist_watch_stop). */
int mrpc_dist_broken(const mrpc_dist *dist);

/* Ends every rank at once (MPI_Abort) with `code`; for failures outside agreement points. */
void mrpc_dist_abort(mrpc_dist *dist, int code);

/* The MPI communicator as an opaque pointer (MPI_Comm *), NULL for single; for NCCL setup. */
void *mrpc_dist_mpi_comm(mrpc_dist *dist);

#endif /* MRPC_DIST_DIST_H */
