/*
 * stop_signals.h — stop requests (SIGTERM, SIGUSR1, SIGINT, SIGHUP) without signal handlers.
 *
 * Slurm asks a task to stop with a signal: SIGTERM for preemption, `scancel` and
 * `scontrol requeue`, SIGUSR1 (`--signal=B:USR1@120`) before the time limit, SIGINT for
 * Ctrl-C. The trainer answers by finishing its step, writing its resume checkpoint and
 * exiting 75. The signal must never be *handled* on a thread that is running library
 * code: oneDNN's JIT GEMM kernels (2.6, Debian 12) use the stack pointer as a general
 * register, so a signal frame pushed on such a thread lands in the heap and corrupts it
 * (oneDNN issue 4845). BLAS, OpenMP and MPI threads are no safer places.
 *
 * So no handler runs at all. mrpc_stop_signals_start blocks the four signals in the
 * calling thread, which must be the main thread before any library has started a thread
 * (threads inherit the mask of the thread that creates them: OpenMP's pool, oneDNN's,
 * Open MPI's progress threads and CUDA's all start later and block them too). It then
 * starts one small thread (named "mrpc-stopsig") that takes the signals with sigwait and
 * records them in an atomic flag; the training loop reads the flag between steps. A process-directed signal
 * stays pending until that thread takes it, because every thread blocks it.
 *
 * A signal whose disposition was SIG_IGN when the program started (`nohup` ignores
 * SIGHUP) stays ignored. Signals after the first are counted and otherwise ignored: the
 * trainer is already on its way to a checkpoint.
 *
 *     mrpc_stop_signals *stop = NULL;
 *     if (mrpc_stop_signals_start(&stop, &err) != MRPC_OK) ...   // first thing in main
 *     ...
 *     if (mrpc_stop_signals_requested(stop)) ...                  // between steps
 *     mrpc_stop_signals_free(stop);
 */
#ifndef MRPC_TRAIN_STOP_SIGNALS_H
#define MRPC_TRAIN_STOP_SIGNALS_H

#include "status.h"

typedef struct mrpc_stop_signals mrpc_stop_signals;

/*
 * Blocks SIGTERM, SIGUSR1, SIGINT and SIGHUP (those not ignored at start) in the calling
 * thread and starts the thread that waits for them. Call it from the main thread before
 * anything that may start threads (MPI_Init, the first BLAS/oneDNN/OpenMP call, CUDA).
 * When other threads already exist (a library started one from its constructor), it
 * warns on stderr, since such a thread could still take a signal with its default action.
 * On failure (no thread could be started) the signal mask is restored and `err` says why.
 * `*out` is owned by the caller: mrpc_stop_signals_free.
 */
mrpc_status mrpc_stop_signals_start(mrpc_stop_signals **out, mrpc_error *err);

/*
 * The first stop signal received (SIGTERM, SIGUSR1, SIGINT or SIGHUP), or 0 when none
 * has come. Safe to call from any thread, at any time; NULL gives 0.
 */
int mrpc_stop_signals_requested(const mrpc_stop_signals *stop);

/* mrpc_stop_signals_requested as a yes/no probe with an untyped context, the shape
 * dist.h's stop watch takes (`ctx` is the mrpc_stop_signals). */
int mrpc_stop_signals_probe(const void *stop);

/* How many stop signals have arrived in all (the first included). NULL gives 0. */
long mrpc_stop_signals_count(const mrpc_stop_signals *stop);

/*
 * Stops the waiting thread and frees `stop`. The signals stay blocked (a signal that
 * arrives afterwards stays pending and is lost when the process exits, which is what a
 * program on its way out wants). Accepts NULL.
 */
void mrpc_stop_signals_free(mrpc_stop_signals *stop);

#endif /* MRPC_TRAIN_STOP_SIGNALS_H */
