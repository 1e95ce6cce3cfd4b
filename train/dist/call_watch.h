/*
 * call_watch.h — a watchdog for a library call that never returns.
 *
 * The stop watch of dist.h polls MPI_Test, so a collective that a lost rank will never
 * complete can be given up. That needs MPI_Test itself to return, and it does not always:
 * Open MPI 4.1's TCP transport deadlocks inside it when a peer dies while a send to it is
 * in flight (mca_btl_tcp_frag_send fails, closing the endpoint sends a FIN through the
 * same endpoint and waits for the lock it already holds; seen here about once in ten
 * kills of a rank). The survivor then sits there until Slurm's SIGKILL, and its record
 * says "running" with no reason.
 *
 * The call watch is a thread beside the caller. The caller brackets each call that might
 * block inside a library with mrpc_call_watch_enter/leave. When `probe` says a stop was
 * requested and the caller has been inside one such call for `grace` seconds since (or
 * since the call began, when later), the watch takes over: `on_stuck` runs on the watch
 * thread (it may use the caller's data: the caller is inside the library call, not in its
 * own code), then the process ends with _exit(exit_code) (no atexit handlers: MPI_Finalize
 * would wait for the dead rank). Should the call return after the takeover, leave() parks
 * the caller for good, so that the two threads never run the caller's code together.
 *
 * One watched thread per watch. Without a probe nothing is ever taken over.
 */
#ifndef MRPC_DIST_CALL_WATCH_H
#define MRPC_DIST_CALL_WATCH_H

#include "status.h"

typedef struct mrpc_call_watch mrpc_call_watch; /* opaque */

/* What runs on the watch thread before the process exits: `call` names the call that did
 * not return, `seconds` how long it had been running. */
typedef void (*mrpc_call_watch_stuck_fn)(void *ctx, const char *call, double seconds);

/* Starts the watch thread; the process exits with `exit_code` after a takeover. */
mrpc_status mrpc_call_watch_start(int exit_code, mrpc_call_watch **out, mrpc_error *err);

/* Stops and joins the watch thread. NULL is fine. */
void mrpc_call_watch_free(mrpc_call_watch *watch);

/* Sets (or, with a NULL probe, clears) the stop probe and the grace in seconds. */
void mrpc_call_watch_set_probe(mrpc_call_watch *watch, int (*probe)(const void *ctx), const void *ctx,
                               double grace_seconds);

/* Sets (or, with NULL, clears) what runs on a takeover. */
void mrpc_call_watch_on_stuck(mrpc_call_watch *watch, mrpc_call_watch_stuck_fn fn, void *ctx);

/* Brackets a call that might block inside a library; `call` is a string literal. leave()
 * does not return once the watch has taken over. */
void mrpc_call_watch_enter(mrpc_call_watch *watch, const char *call);
void mrpc_call_watch_leave(mrpc_call_watch *watch);

#endif /* MRPC_DIST_CALL_WATCH_H */
