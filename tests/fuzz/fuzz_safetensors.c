/* fuzz_safetensors.c — bytes -> mrpc_st_open_memory, then every F32/BF16 tensor is read.
 *
 * Invariants checked beyond "no crash, no leak, no UB": a tensor the header validation
 * accepted can always be found by name and read as float with its own shape, and its
 * offsets lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrpc_st_file *f = NULL;
    mrpc_error err;
    if (mrpc_st_open_memory("fuzz.safetensors", data, size, &f, &err) != MRPC_OK) {
        if (f != NULL || err.file[0] == '\0' || err.message[0] == '\0') abort();
        return 0;
    }
    (void)mrpc_st_metadata(f, "format");
    for (size_t i = 0; i < mrpc_st_count(f); i++) {
        const mrpc_st_tensor *t = mrpc_st_at(f, i);
        if (!t || mrpc_st_find(f, t->name) != t) abort();
        if (t->end < t->begin || t->end > size) abort();
        if (t->dtype != MRPC_ST_F32 && t->dtype != MRPC_ST_BF16) continue;
        size_t n = (size_t)(t->end - t->begin) / mrpc_st_dtype_size(t->dtype);
        float *buf = malloc(n ? n * sizeof *buf : 1);
        if (!buf) abort();
        if (mrpc_st_read_f32(f, t->name, t->shape, t->n_dims, buf, &err) != MRPC_OK) abort();
        free(buf);
    }
    mrpc_st_close(f);
    return 0;
}
