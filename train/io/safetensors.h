/*
 * safetensors.h — read and write the safetensors format (huggingface/safetensors).
 *
 * File: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"k": "v"}}
 * then the byte buffer; offsets are relative to byte 8+N. The reader checks
 * everything before trusting it: header length against the file size and a 100 MB
 * limit, JSON syntax, dtype (F32, BF16, F16 and the integer types are recognised;
 * only F32 and BF16 can be converted to float), shape * dtype size == end - begin,
 * offsets inside the buffer, no overlaps, no gaps (the buffer must be covered
 * exactly), no duplicate names, size limits against overflow. Data is copied out with
 * memcpy (files from safetensors <= 0.3.0 are not 8-byte aligned), never cast in place.
 */
#ifndef MRPC_IO_SAFETENSORS_H
#define MRPC_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MRPC_ST_MAX_DIMS 8

typedef enum mrpc_st_dtype {
    MRPC_ST_F32 = 0, MRPC_ST_BF16, MRPC_ST_F16, MRPC_ST_F64, MRPC_ST_I64, MRPC_ST_I32, MRPC_ST_I16,
    MRPC_ST_I8, MRPC_ST_U8, MRPC_ST_BOOL, MRPC_ST_DTYPE_COUNT
} mrpc_st_dtype;

/* "F32", "BF16", ... */
const char *mrpc_st_dtype_name(mrpc_st_dtype dtype);
size_t      mrpc_st_dtype_size(mrpc_st_dtype dtype);

typedef struct mrpc_st_tensor {
    char         *name;
    mrpc_st_dtype dtype;
    int           n_dims;
    int64_t       shape[MRPC_ST_MAX_DIMS];
    uint64_t      begin, end; /* byte offsets in the data buffer */
} mrpc_st_tensor;

typedef struct mrpc_st_file mrpc_st_file; /* opaque: the open file and its parsed header */

/* Opens and validates `path`. Errors name the file and the tensor. */
mrpc_status mrpc_st_open(const char *path, mrpc_st_file **out, mrpc_error *err);
/* Validates an in-memory image (for tests and fuzzing); `data` must outlive the handle. */
mrpc_status mrpc_st_open_memory(const char *name, const void *data, size_t size, mrpc_st_file **out,
                                mrpc_error *err);
void mrpc_st_close(mrpc_st_file *f);

size_t                mrpc_st_count(const mrpc_st_file *f);
const mrpc_st_tensor *mrpc_st_at(const mrpc_st_file *f, size_t index);
/* Tensor by name, NULL when absent. */
const mrpc_st_tensor *mrpc_st_find(const mrpc_st_file *f, const char *name);
/* Value of a __metadata__ key, NULL when absent. */
const char *mrpc_st_metadata(const mrpc_st_file *f, const char *key);

/*
 * Reads tensor `name` as float32 into `dst`, converting from F32 or BF16. The tensor
 * must have exactly the shape `shape[0..n_dims)`; a missing tensor, another shape or
 * another dtype is an error naming the file and the tensor.
 */
mrpc_status mrpc_st_read_f32(const mrpc_st_file *f, const char *name, const int64_t *shape, int n_dims,
                             float *dst, mrpc_error *err);

/* One tensor to write: float32 data converted to `dtype` (F32 or BF16, round to nearest even). */
typedef struct mrpc_st_write_item {
    const char   *name;
    mrpc_st_dtype dtype;
    int           n_dims;
    int64_t       shape[MRPC_ST_MAX_DIMS];
    const float  *data;
} mrpc_st_write_item;

/*
 * Writes a safetensors file atomically (temp file + rename) with the header padded to
 * a multiple of 8 bytes, tensors ordered as the reference writer does, and
 * `metadata` as __metadata__ (NULL-terminated key, value, key, value, ... list; may be NULL).
 */
mrpc_status mrpc_st_write(const char *path, const mrpc_st_write_item *items, size_t n_items,
                          const char *const *metadata, mrpc_error *err);

#endif /* MRPC_IO_SAFETENSORS_H */
