/*
 * safetensors.h — read and write the safetensors format (huggingface/safetensors).
 *
 * File: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"k": "v"}}
 * then the byte buffer; offsets are relative to byte 8+N. The reader checks
 * everything before trusting it: header length against the file size and a 100 MB
 * limit, JSON syntax (trailing spaces accepted, duplicate keys rejected), dtype (F32,
 * BF16, F16, F64, F8 and the integer types are recognised; only F32 and BF16 can be
 * converted to float), shape * dtype size == end - begin with overflow checks, offsets
 * inside the buffer, no overlaps, no gaps (the buffer must be covered exactly, as the
 * reference implementation requires), a string->string __metadata__, limits on the
 * number of tensors and dimensions. Data is copied out (pread or memcpy into the
 * caller's buffer; files from safetensors <= 0.3.0 are not 8-byte aligned), never cast
 * in place. Every error names the file (err->file) and, where there is one, the
 * tensor (err->field).
 *
 * Example:
 *
 *     mrpc_st_file *st = NULL;
 *     mrpc_error err = {0};
 *     int64_t shape[2] = {30522, 768};
 *     if (mrpc_st_open("model.safetensors", &st, &err) != MRPC_OK ||
 *         mrpc_st_read_f32(st, "distilbert.embeddings.word_embeddings.weight", shape, 2, wte, &err) != MRPC_OK)
 *         mrpc_error_print(stderr, "mrpc-train", &err);
 *     mrpc_st_close(st);
 *
 * A handle is read-only after open; several threads may call the read functions on
 * one handle at the same time.
 */
#ifndef MRPC_IO_SAFETENSORS_H
#define MRPC_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MRPC_ST_MAX_DIMS 8                  /* more dimensions than this are rejected */
#define MRPC_ST_MAX_TENSORS 100000          /* more tensors than this in one file are rejected */
#define MRPC_ST_MAX_HEADER_BYTES 100000000u /* the reference implementation's header limit */

/* Element types. Always add at the end. */
typedef enum mrpc_st_dtype {
    MRPC_ST_F32 = 0, MRPC_ST_BF16, MRPC_ST_F16, MRPC_ST_F64, MRPC_ST_I64, MRPC_ST_I32, MRPC_ST_I16,
    MRPC_ST_I8, MRPC_ST_U8, MRPC_ST_BOOL, MRPC_ST_U16, MRPC_ST_U32, MRPC_ST_U64, MRPC_ST_F8_E5M2,
    MRPC_ST_F8_E4M3, MRPC_ST_DTYPE_COUNT
} mrpc_st_dtype;

/* "F32", "BF16", ... as written in the header; "?" for a value out of range. */
const char *mrpc_st_dtype_name(mrpc_st_dtype dtype);
/* Bytes per element (4 for F32); 0 for a value out of range. */
size_t      mrpc_st_dtype_size(mrpc_st_dtype dtype);

/* float32 -> bfloat16 bits, rounding to nearest even; NaN stays NaN (sign kept, made quiet). */
uint16_t mrpc_st_bf16_from_f32(float value);
/* bfloat16 bits -> float32 (exact). */
float    mrpc_st_bf16_to_f32(uint16_t bits);

typedef struct mrpc_st_tensor {
    char         *name;
    mrpc_st_dtype dtype;
    int           n_dims;                   /* 0 for a scalar */
    int64_t       shape[MRPC_ST_MAX_DIMS];  /* [n_dims], each >= 0 */
    uint64_t      begin, end;               /* byte offsets in the data buffer, end one past */
} mrpc_st_tensor;

typedef struct mrpc_st_file mrpc_st_file; /* opaque: the open file and its parsed header */

/*
 * Opens and validates `path`; on success *out owns the open file (release it with
 * mrpc_st_close). Only the header is read here; tensor data is read on demand. On
 * failure *out is NULL and `err` names the file and, when one is at fault, the tensor.
 */
mrpc_status mrpc_st_open(const char *path, mrpc_st_file **out, mrpc_error *err);
/*
 * Validates an in-memory image (for tests and fuzzing); `data` must outlive the
 * handle. `name` (may be NULL: "<memory>") is used in error messages.
 */
mrpc_status mrpc_st_open_memory(const char *name, const void *data, size_t size, mrpc_st_file **out,
                                mrpc_error *err);
/* Closes the file and frees the handle and every tensor record. NULL does nothing. */
void mrpc_st_close(mrpc_st_file *f);

/* Number of tensors (0 for NULL). */
size_t                mrpc_st_count(const mrpc_st_file *f);
/* Tensor `index` in file order (ascending data offsets); NULL when out of range. Owned by `f`. */
const mrpc_st_tensor *mrpc_st_at(const mrpc_st_file *f, size_t index);
/* Tensor by name (binary search), NULL when absent. Owned by `f`. */
const mrpc_st_tensor *mrpc_st_find(const mrpc_st_file *f, const char *name);
/* Value of a __metadata__ key, NULL when absent. Owned by `f`. */
const char *mrpc_st_metadata(const mrpc_st_file *f, const char *key);

/*
 * Reads tensor `name` as float32 into `dst` (product(shape) floats; may be NULL when
 * that is 0), converting from F32 or BF16. The tensor must have exactly the shape
 * `shape[0..n_dims)` (`shape` may be NULL for a scalar, n_dims 0); a missing tensor,
 * another shape or another dtype is an error naming the file and the tensor. On
 * failure the contents of `dst` are unspecified.
 */
mrpc_status mrpc_st_read_f32(const mrpc_st_file *f, const char *name, const int64_t *shape, int n_dims,
                             float *dst, mrpc_error *err);

/*
 * Reads U8 tensor `name` whole into a new buffer (*out, *out_size bytes; the caller
 * frees it; a 0-byte tensor gives a 1-byte buffer). Missing tensor or another dtype is
 * an error naming the file and the tensor.
 */
mrpc_status mrpc_st_read_bytes(const mrpc_st_file *f, const char *name, unsigned char **out, size_t *out_size,
                               mrpc_error *err);

/*
 * One tensor to write: float32 data converted to `dtype` (F32 or BF16, round to nearest
 * even), or, for dtype U8, raw bytes written as they are (an opaque blob such as a file
 * image; `bytes` instead of `data`).
 */
typedef struct mrpc_st_write_item {
    const char   *name;
    mrpc_st_dtype dtype;
    int           n_dims;
    int64_t       shape[MRPC_ST_MAX_DIMS];
    const float  *data;                     /* [product(shape)]; may be NULL when that is 0 */
    const void   *bytes;                    /* U8 only: [product(shape)] bytes */
} mrpc_st_write_item;

/*
 * Writes a safetensors file atomically (temp file "<path>.tmp.<pid>", fsync, rename)
 * with the header padded with spaces to a multiple of 8 bytes, tensors ordered as the
 * reference writer does (descending dtype alignment, then name, bytewise: F32 before
 * BF16), and `metadata` as __metadata__ (NULL-terminated key, value, key, value, ...
 * list; may be NULL; written in the given order). Tensor data is streamed from the
 * caller's arrays through a small buffer, so no second copy of the model is made.
 * Names must be unique, valid UTF-8 and not "__metadata__"; a bad item is an error
 * naming it, and then nothing is written. On failure the temp file is removed and
 * an existing file at `path` is left as it was.
 */
mrpc_status mrpc_st_write(const char *path, const mrpc_st_write_item *items, size_t n_items,
                          const char *const *metadata, mrpc_error *err);

#endif /* MRPC_IO_SAFETENSORS_H */
