/*
 * profile.h — a backend that wraps another and times every op (for the bench and for
 * finding what is slow). It owns the inner backend: freeing the wrapper frees both.
 *
 *     mrpc_backend *p = mrpc_backend_profile_wrap(inner);
 *     ... run ops through p ...
 *     mrpc_backend_profile_report(p, stdout);
 */
#ifndef MRPC_BACKEND_PROFILE_H
#define MRPC_BACKEND_PROFILE_H

#include <stdio.h>

#include "backend.h"

/* Wraps `inner` (ownership passes to the wrapper); NULL when out of memory (inner is
   then still the caller's). */
mrpc_backend *mrpc_backend_profile_wrap(mrpc_backend *inner);

/* 1 when `be` is a profiling wrapper. */
int mrpc_backend_is_profile(const mrpc_backend *be);

/* Clears the counters; no-op on other backends. */
void mrpc_backend_profile_reset(mrpc_backend *be);

/* Prints seconds and calls per op, and per linear shape with GFLOP/s; no-op on other backends. */
void mrpc_backend_profile_report(mrpc_backend *be, FILE *out);

#endif /* MRPC_BACKEND_PROFILE_H */
