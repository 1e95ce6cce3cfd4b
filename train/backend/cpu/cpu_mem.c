/* cpu_mem.c — memory slots, sticky errors and bf16 rounding shared by the CPU backends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

void cpu_set_error(cpu_backend *cb, mrpc_status status, const char *fmt, ...) {
    if (cb->has_error) {
        return;
    }
    cb->has_error = 1;
    va_list ap;
    va_start(ap, fmt);
    mrpc_error_setv(&cb->error, status, NULL, 0, 0, cb->base.name, fmt, ap);
    va_end(ap);
}

mrpc_status cpu_get_error(mrpc_backend *be, mrpc_error *err) {
    cpu_backend *cb = (cpu_backend *)be;
    if (!cb->has_error) {
        return MRPC_OK;
    }
    if (err) {
        *err = cb->error;
    }
    return cb->error.status;
}

void *cpu_alloc(mrpc_backend *be, size_t n_bytes) {
    cpu_backend *cb = (cpu_backend *)be;
    size_t rounded = (n_bytes + 63u) & ~(size_t)63u;
    if (rounded == 0) {
        rounded = 64;
    }
    void *p = aligned_alloc(64, rounded);
    if (!p) {
        cpu_set_error(cb, MRPC_ERR_NOMEM, "out of memory allocating %zu bytes", n_bytes);
        return NULL;
    }
    memset(p, 0, rounded);
    return p;
}

void cpu_free_mem(mrpc_backend *be, void *ptr) {
    (void)be;
    free(ptr);
}

void cpu_copy(mrpc_backend *be, void *dst, const void *src, size_t n_bytes) {
    (void)be;
    if (n_bytes && dst != src) {
        memmove(dst, src, n_bytes);
    }
}

void cpu_zero(mrpc_backend *be, void *dst, size_t n_bytes) {
    (void)be;
    if (n_bytes) {
        memset(dst, 0, n_bytes);
    }
}

int cpu_grow(cpu_backend *cb, void **buf, size_t *cap_bytes, size_t n_bytes) {
    if (*cap_bytes >= n_bytes && *buf) {
        return 1;
    }
    free(*buf);
    *buf = NULL;
    *cap_bytes = 0;
    size_t rounded = (n_bytes + 63u) & ~(size_t)63u;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        cpu_set_error(cb, MRPC_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", n_bytes);
        return 0;
    }
    *buf = p;
    *cap_bytes = rounded;
    return 1;
}

uint16_t cpu_bf16_from_f32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float cpu_f32_from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}
