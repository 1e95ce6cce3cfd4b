/*
 * cpu_backend.h — the CPU backends: "cpu" (BLAS/oneDNN GEMMs, OpenMP, fused passes)
 * and "cpu-ref" (plain loops in double where it matters: the ground truth).
 *
 * Use mrpc_backend_create (backend.h) with MRPC_BACKEND_CPU or MRPC_BACKEND_CPU_REF;
 * these are the constructors it dispatches to.
 */
#ifndef MRPC_BACKEND_CPU_H
#define MRPC_BACKEND_CPU_H

#include "backend.h"

/* Fast CPU backend. bf16 precision needs oneDNN (MRPC_ERR_UNSUPPORTED otherwise). */
mrpc_status mrpc_backend_cpu_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err);

/* Reference CPU backend (single-threaded loops). bf16 precision is emulated: linear
   inputs and weights are rounded to bf16 and the products summed in double. */
mrpc_status mrpc_backend_cpu_ref_create(const mrpc_backend_options *opts, mrpc_backend **out, mrpc_error *err);

/* 1 when this build can run bf16 GEMMs (oneDNN present), else 0. */
int mrpc_backend_cpu_has_bf16(void);

#endif /* MRPC_BACKEND_CPU_H */
