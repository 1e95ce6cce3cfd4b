/* cuda_check.c — the error formatter behind CUDA_CHECK / CUBLAS_CHECK / NCCL_CHECK. */
#include "cuda_check.h"

#include <string.h>

#include <cuda_runtime_api.h>

/* The last path component of a __FILE__ (messages stay short and build-dir independent). */
static const char *base_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : (path ? path : "?");
}

mrpc_status mrpc_gpu_error(mrpc_error *err, const char *lib, int code, const char *lib_message, const char *stmt,
                           const char *func, const char *file, int line) {
    if (!err || err->status != MRPC_OK) {
        return MRPC_ERR_CUDA; /* keep the first failure */
    }
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess) {
        device = -1;
    }
    return mrpc_error_set(err, MRPC_ERR_CUDA, NULL, 0, 0, "cuda", "%s error %d (%s) in `%s` at %s %s:%d, device %d",
                          lib, code, lib_message ? lib_message : "no message", stmt, func, base_name(file), line,
                          device);
}
