/* safetensors.c — validating safetensors reader and streaming atomic writer (see safetensors.h). */
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ST_BIG_ENDIAN 1
#else
#define ST_BIG_ENDIAN 0
#endif

/* ---- dtypes -------------------------------------------------------------------- */

/* Indexed by mrpc_st_dtype. `rank` is the position in the reference writer's Dtype
 * enum ("increasing alignment order"), which sorts tensors when writing. */
static const struct {
    const char *name;
    size_t      size;
    int         rank;
} dtype_info[MRPC_ST_DTYPE_COUNT] = {
    [MRPC_ST_F32] = {"F32", 4, 11},         [MRPC_ST_BF16] = {"BF16", 2, 8},
    [MRPC_ST_F16] = {"F16", 2, 7},          [MRPC_ST_F64] = {"F64", 8, 12},
    [MRPC_ST_I64] = {"I64", 8, 13},         [MRPC_ST_I32] = {"I32", 4, 9},
    [MRPC_ST_I16] = {"I16", 2, 5},          [MRPC_ST_I8] = {"I8", 1, 2},
    [MRPC_ST_U8] = {"U8", 1, 1},            [MRPC_ST_BOOL] = {"BOOL", 1, 0},
    [MRPC_ST_U16] = {"U16", 2, 6},          [MRPC_ST_U32] = {"U32", 4, 10},
    [MRPC_ST_U64] = {"U64", 8, 14},         [MRPC_ST_F8_E5M2] = {"F8_E5M2", 1, 3},
    [MRPC_ST_F8_E4M3] = {"F8_E4M3", 1, 4},
};

const char *mrpc_st_dtype_name(mrpc_st_dtype dtype) {
    return ((unsigned)dtype < MRPC_ST_DTYPE_COUNT) ? dtype_info[dtype].name : "?";
}

size_t mrpc_st_dtype_size(mrpc_st_dtype dtype) {
    return ((unsigned)dtype < MRPC_ST_DTYPE_COUNT) ? dtype_info[dtype].size : 0;
}

static int dtype_from_name(const char *s, mrpc_st_dtype *out) {
    for (int d = 0; d < MRPC_ST_DTYPE_COUNT; d++) {
        if (strcmp(s, dtype_info[d].name) == 0) { *out = (mrpc_st_dtype)d; return 1; }
    }
    return 0;
}

uint16_t mrpc_st_bf16_from_f32(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        /* NaN: keep the sign and the top payload bits, set the quiet bit so a payload
         * that lived only in the dropped bits cannot turn into infinity. */
        return (uint16_t)((bits >> 16) | 0x0040u);
    }
    /* Round to nearest, ties to even; overflow correctly rounds up to infinity. */
    uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)((bits + rounding) >> 16);
}

float mrpc_st_bf16_to_f32(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

static uint64_t load_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- the open file --------------------------------------------------------------- */

struct mrpc_st_file {
    char                 *name;       /* path or caller's name, for messages */
    int                   fd;         /* -1 for an in-memory image */
    const unsigned char  *mem;        /* the in-memory image, NULL for a file */
    uint64_t              data_start; /* 8 + N: where the byte buffer starts */
    uint64_t              data_size;  /* bytes in the byte buffer */
    mrpc_st_tensor       *tensors;    /* [n_tensors], ascending data offsets */
    size_t                n_tensors;
    const mrpc_st_tensor **by_name;   /* [n_tensors], ascending names */
    json_t               *metadata;   /* the __metadata__ object, NULL when absent */
};

static const char *file_name(const mrpc_st_file *f) { return f->name ? f->name : "<memory>"; }

void mrpc_st_close(mrpc_st_file *f) {
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->by_name);
    json_decref(f->metadata);
    free(f->name);
    free(f);
}

static mrpc_st_file *file_new(const char *name) {
    mrpc_st_file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->fd = -1;
    f->name = strdup(name ? name : "<memory>");
    if (!f->name) { free(f); return NULL; }
    return f;
}

/* Reads `n` bytes at `offset` of the file (absolute) into dst. */
static mrpc_status read_at(const mrpc_st_file *f, uint64_t offset, void *dst, size_t n, mrpc_error *err,
                           const char *field) {
    if (f->mem) {
        if (n) memcpy(dst, f->mem + offset, n);
        return MRPC_OK;
    }
    unsigned char *p = dst;
    while (n > 0) {
        ssize_t got = pread(f->fd, p, n, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return mrpc_error_set(err, MRPC_ERR_IO, file_name(f), 0, 0, field, "read failed: %s", strerror(errno));
        }
        if (got == 0) {
            return mrpc_error_set(err, MRPC_ERR_IO, file_name(f), 0, 0, field,
                                  "unexpected end of file at byte %llu (was the file truncated while open?)",
                                  (unsigned long long)offset);
        }
        p += got; n -= (size_t)got; offset += (uint64_t)got;
    }
    return MRPC_OK;
}

/* ---- header validation ------------------------------------------------------------ */

/* Checks the 8-byte length against the limit and the total size; sets data_start/size. */
static mrpc_status check_header_len(mrpc_st_file *f, uint64_t n, uint64_t total, mrpc_error *err) {
    if (n > MRPC_ST_MAX_HEADER_BYTES) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL,
                              "header length %llu exceeds the limit of %u bytes (not a safetensors file?)",
                              (unsigned long long)n, MRPC_ST_MAX_HEADER_BYTES);
    }
    if (n > total - 8) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL,
                              "header length %llu is larger than the %llu bytes that follow it (truncated file?)",
                              (unsigned long long)n, (unsigned long long)(total - 8));
    }
    f->data_start = 8 + n;
    f->data_size = total - 8 - n;
    return MRPC_OK;
}

/* Copies the offending key out of jansson's "duplicate object key near '"key"'" text. */
static void duplicate_key_name(const char *text, char *out, size_t out_size) {
    out[0] = '\0';
    const char *p = strstr(text, "near '\"");
    if (!p) return;
    p += strlen("near '\"");
    size_t len = strlen(p);
    if (len >= 2 && p[len - 1] == '\'' && p[len - 2] == '"') len -= 2;
    if (len >= out_size) len = out_size - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static mrpc_status entry_error(const mrpc_st_file *f, mrpc_error *err, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static mrpc_status entry_error(const mrpc_st_file *f, mrpc_error *err, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mrpc_status s = mrpc_error_setv(err, MRPC_ERR_PARSE, file_name(f), 0, 0, name, fmt, ap);
    va_end(ap);
    return s;
}

/* Reads a non-negative JSON integer. */
static int get_u64(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v)) return 0;
    json_int_t i = json_integer_value(v);
    if (i < 0) return 0;
    *out = (uint64_t)i;
    return 1;
}

static mrpc_status parse_entry(const mrpc_st_file *f, const char *name, const json_t *val, mrpc_st_tensor *t,
                               mrpc_error *err) {
    if (!json_is_object(val)) return entry_error(f, err, name, "tensor entry must be a JSON object");

    const json_t *dt = json_object_get(val, "dtype");
    if (!dt) return entry_error(f, err, name, "tensor entry has no \"dtype\"");
    if (!json_is_string(dt)) return entry_error(f, err, name, "\"dtype\" must be a string");
    if (!dtype_from_name(json_string_value(dt), &t->dtype)) {
        return entry_error(f, err, name, "unknown dtype \"%.40s\"", json_string_value(dt));
    }

    const json_t *shape = json_object_get(val, "shape");
    if (!shape) return entry_error(f, err, name, "tensor entry has no \"shape\"");
    if (!json_is_array(shape)) return entry_error(f, err, name, "\"shape\" must be an array of integers");
    size_t n_dims = json_array_size(shape);
    if (n_dims > MRPC_ST_MAX_DIMS) {
        return entry_error(f, err, name, "shape has %zu dimensions, more than the limit of %d", n_dims,
                           MRPC_ST_MAX_DIMS);
    }
    uint64_t n_elems = 1;
    int overflow = 0;
    for (size_t d = 0; d < n_dims; d++) {
        uint64_t dim;
        if (!get_u64(json_array_get(shape, d), &dim)) {
            return entry_error(f, err, name, "shape[%zu] must be a non-negative integer", d);
        }
        t->shape[d] = (int64_t)dim;
        if (dim != 0 && n_elems > UINT64_MAX / dim) overflow = 1;
        else n_elems *= dim;
    }
    t->n_dims = (int)n_dims;
    /* A zero dimension makes the product 0 even after an overflowing prefix. */
    for (size_t d = 0; d < n_dims; d++) if (t->shape[d] == 0) { overflow = 0; n_elems = 0; }
    size_t esize = dtype_info[t->dtype].size;
    if (overflow || n_elems > UINT64_MAX / esize) {
        return entry_error(f, err, name, "shape product times the %zu-byte element size overflows 64 bits", esize);
    }
    uint64_t n_bytes = n_elems * esize;

    const json_t *offs = json_object_get(val, "data_offsets");
    if (!offs) return entry_error(f, err, name, "tensor entry has no \"data_offsets\"");
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !get_u64(json_array_get(offs, 0), &t->begin) ||
        !get_u64(json_array_get(offs, 1), &t->end)) {
        return entry_error(f, err, name, "\"data_offsets\" must be two non-negative integers [begin, end]");
    }
    if (t->begin > t->end) {
        return entry_error(f, err, name, "data_offsets [%llu, %llu]: begin is after end",
                           (unsigned long long)t->begin, (unsigned long long)t->end);
    }
    if (t->end > f->data_size) {
        return entry_error(f, err, name, "data_offsets [%llu, %llu] run past the %llu-byte data buffer",
                           (unsigned long long)t->begin, (unsigned long long)t->end,
                           (unsigned long long)f->data_size);
    }
    if (t->end - t->begin != n_bytes) {
        return entry_error(f, err, name, "data_offsets span %llu bytes but %s shape needs %llu",
                           (unsigned long long)(t->end - t->begin), dtype_info[t->dtype].name,
                           (unsigned long long)n_bytes);
    }
    t->name = strdup(name);
    if (!t->name) return mrpc_error_set(err, MRPC_ERR_NOMEM, file_name(f), 0, 0, name, "out of memory");
    return MRPC_OK;
}

static mrpc_status check_metadata(const mrpc_st_file *f, const json_t *meta, mrpc_error *err) {
    if (!json_is_object(meta)) {
        return entry_error(f, err, "__metadata__", "must be an object of string values");
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        if (!json_is_string(v)) {
            return entry_error(f, err, "__metadata__", "value of key \"%.60s\" must be a string", key);
        }
    }
    return MRPC_OK;
}

static int cmp_offsets(const void *a, const void *b) {
    const mrpc_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b) {
    const mrpc_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Parses and validates the JSON header `hdr[0..n)`; fills f's tensors and metadata. */
static mrpc_status parse_header(mrpc_st_file *f, const char *hdr, size_t n, mrpc_error *err) {
    if (n == 0 || hdr[0] != '{') {
        return mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL,
                              "header does not start with '{' (not a safetensors file?)");
    }
    json_error_t je;
    json_t *root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char dup[128] = "";
        if (json_error_code(&je) == json_error_duplicate_key) duplicate_key_name(je.text, dup, sizeof dup);
        return mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, dup[0] ? dup : NULL,
                              "invalid JSON header at byte %lld of the file: %s",
                              (long long)je.position + 8, je.text);
    }
    mrpc_status s = MRPC_OK;
    if (!json_is_object(root)) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL, "header must be a JSON object");
        goto done;
    }
    json_t *meta = json_object_get(root, "__metadata__");
    size_t n_tensors = json_object_size(root) - (meta ? 1 : 0);
    if (n_tensors > MRPC_ST_MAX_TENSORS) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL,
                           "header lists %zu tensors, more than the limit of %d", n_tensors, MRPC_ST_MAX_TENSORS);
        goto done;
    }
    if (meta) {
        if ((s = check_metadata(f, meta, err)) != MRPC_OK) goto done;
        f->metadata = json_incref(meta);
    }
    f->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *f->tensors);
    f->by_name = calloc(n_tensors ? n_tensors : 1, sizeof *f->by_name);
    if (!f->tensors || !f->by_name) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, file_name(f), 0, 0, NULL, "out of memory");
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (val == meta) continue;
        if ((s = parse_entry(f, key, val, &f->tensors[f->n_tensors], err)) != MRPC_OK) goto done;
        f->n_tensors++;
    }

    /* The reference rule: sorted by offsets, each tensor starts where the previous one
     * ended, and the last one ends at the end of the file. */
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, cmp_offsets);
    uint64_t pos = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const mrpc_st_tensor *t = &f->tensors[i];
        if (t->begin < pos) {
            s = entry_error(f, err, t->name, "data_offsets [%llu, %llu] overlap tensor \"%.60s\" (which ends at %llu)",
                            (unsigned long long)t->begin, (unsigned long long)t->end, f->tensors[i - 1].name,
                            (unsigned long long)pos);
            goto done;
        }
        if (t->begin > pos) {
            s = entry_error(f, err, t->name, "gap of %llu bytes in the data buffer before this tensor (offset %llu)",
                            (unsigned long long)(t->begin - pos), (unsigned long long)pos);
            goto done;
        }
        pos = t->end;
    }
    if (pos != f->data_size) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0,
                           f->n_tensors ? f->tensors[f->n_tensors - 1].name : NULL,
                           "the tensors cover %llu bytes of the %llu-byte data buffer; the rest is not "
                           "accounted for (trailing bytes?)",
                           (unsigned long long)pos, (unsigned long long)f->data_size);
        goto done;
    }
    for (size_t i = 0; i < f->n_tensors; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n_tensors, sizeof *f->by_name, cmp_by_name);
done:
    json_decref(root);
    return s;
}

mrpc_status mrpc_st_open_memory(const char *name, const void *data, size_t size, mrpc_st_file **out,
                                mrpc_error *err) {
    if (!out) return mrpc_error_set(err, MRPC_ERR_INTERNAL, name, 0, 0, NULL, "mrpc_st_open_memory: out is NULL");
    *out = NULL;
    mrpc_st_file *f = file_new(name);
    if (!f) return mrpc_error_set(err, MRPC_ERR_NOMEM, name, 0, 0, NULL, "out of memory");
    static const unsigned char empty[1] = {0};
    f->mem = data ? (const unsigned char *)data : empty;
    mrpc_status s;
    if (size < 8 || !data) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, file_name(f), 0, 0, NULL,
                           "%zu bytes is too short for the 8-byte header length", data ? size : 0);
    } else if ((s = check_header_len(f, load_le64(f->mem), (uint64_t)size, err)) == MRPC_OK) {
        s = parse_header(f, (const char *)f->mem + 8, (size_t)(f->data_start - 8), err);
    }
    if (s != MRPC_OK) { mrpc_st_close(f); return s; }
    *out = f;
    return MRPC_OK;
}

mrpc_status mrpc_st_open(const char *path, mrpc_st_file **out, mrpc_error *err) {
    if (!out || !path) return mrpc_error_set(err, MRPC_ERR_INTERNAL, path, 0, 0, NULL, "mrpc_st_open: NULL argument");
    *out = NULL;
    mrpc_st_file *f = file_new(path);
    if (!f) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    mrpc_status s = MRPC_OK;
    char *hdr = NULL;
    struct stat st;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        goto done;
    }
    if (fstat(f->fd, &st) != 0) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "not a regular file");
        goto done;
    }
    uint64_t total = (uint64_t)st.st_size;
    if (total < 8) {
        s = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, NULL,
                           "%llu bytes is too short for the 8-byte header length", (unsigned long long)total);
        goto done;
    }
    unsigned char len8[8];
    if ((s = read_at(f, 0, len8, 8, err, NULL)) != MRPC_OK) goto done;
    if ((s = check_header_len(f, load_le64(len8), total, err)) != MRPC_OK) goto done;
    size_t n = (size_t)(f->data_start - 8);
    hdr = malloc(n ? n : 1);
    if (!hdr) {
        s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory for a %zu-byte header", n);
        goto done;
    }
    if ((s = read_at(f, 8, hdr, n, err, NULL)) != MRPC_OK) goto done;
    s = parse_header(f, hdr, n, err);
done:
    free(hdr);
    if (s != MRPC_OK) { mrpc_st_close(f); return s; }
    *out = f;
    return MRPC_OK;
}

size_t mrpc_st_count(const mrpc_st_file *f) { return f ? f->n_tensors : 0; }

const mrpc_st_tensor *mrpc_st_at(const mrpc_st_file *f, size_t index) {
    return (f && index < f->n_tensors) ? &f->tensors[index] : NULL;
}

const mrpc_st_tensor *mrpc_st_find(const mrpc_st_file *f, const char *name) {
    if (!f || !name || f->n_tensors == 0) return NULL;
    mrpc_st_tensor key = {0};
    key.name = (char *)name;
    const mrpc_st_tensor *pkey = &key;
    const mrpc_st_tensor *const *hit = bsearch(&pkey, f->by_name, f->n_tensors, sizeof *f->by_name, cmp_by_name);
    return hit ? *hit : NULL;
}

const char *mrpc_st_metadata(const mrpc_st_file *f, const char *key) {
    if (!f || !f->metadata || !key) return NULL;
    return json_string_value(json_object_get(f->metadata, key));
}

/* "[a, b, c]" into buf. */
static void format_shape(char *buf, size_t size, const int64_t *shape, int n_dims) {
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < n_dims && used < size; d++) {
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

mrpc_status mrpc_st_read_bytes(const mrpc_st_file *f, const char *name, unsigned char **out, size_t *out_size,
                               mrpc_error *err) {
    *out = NULL;
    *out_size = 0;
    if (!f || !name) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, name, "mrpc_st_read_bytes: NULL argument");
    const mrpc_st_tensor *t = mrpc_st_find(f, name);
    if (!t) return mrpc_error_set(err, MRPC_ERR_INVALID, file_name(f), 0, 0, name, "no tensor of this name in the file");
    if (t->dtype != MRPC_ST_U8) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, file_name(f), 0, 0, name, "dtype %s, expected U8",
                              dtype_info[t->dtype].name);
    }
    uint64_t n_bytes = t->end - t->begin;
    if (n_bytes >= SIZE_MAX) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, file_name(f), 0, 0, name, "tensor too large for this machine");
    }
    unsigned char *buf = malloc((size_t)n_bytes + 1);
    if (!buf) return mrpc_error_set(err, MRPC_ERR_NOMEM, file_name(f), 0, 0, name, "out of memory");
    mrpc_status s = read_at(f, f->data_start + t->begin, buf, (size_t)n_bytes, err, name);
    if (s != MRPC_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    *out_size = (size_t)n_bytes;
    return MRPC_OK;
}

mrpc_status mrpc_st_read_f32(const mrpc_st_file *f, const char *name, const int64_t *shape, int n_dims,
                             float *dst, mrpc_error *err) {
    if (!f || !name) return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, name, "mrpc_st_read_f32: NULL argument");
    const mrpc_st_tensor *t = mrpc_st_find(f, name);
    if (!t) return mrpc_error_set(err, MRPC_ERR_INVALID, file_name(f), 0, 0, name, "no tensor of this name in the file");
    if (t->dtype != MRPC_ST_F32 && t->dtype != MRPC_ST_BF16) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, file_name(f), 0, 0, name,
                              "dtype %s cannot be read as float32 (only F32 and BF16)", dtype_info[t->dtype].name);
    }
    int same = (n_dims == t->n_dims) && (n_dims == 0 || shape != NULL);
    for (int d = 0; same && d < n_dims; d++) same = (shape[d] == t->shape[d]);
    if (!same) {
        char want[256], have[256];
        if (n_dims < 0 || n_dims > MRPC_ST_MAX_DIMS || (n_dims > 0 && !shape)) snprintf(want, sizeof want, "(invalid)");
        else format_shape(want, sizeof want, shape, n_dims);
        format_shape(have, sizeof have, t->shape, t->n_dims);
        return mrpc_error_set(err, MRPC_ERR_INVALID, file_name(f), 0, 0, name, "shape is %s in the file, expected %s",
                              have, want);
    }
    uint64_t n_bytes = t->end - t->begin;
    if (n_bytes == 0) return MRPC_OK;
    if (!dst) return mrpc_error_set(err, MRPC_ERR_INTERNAL, file_name(f), 0, 0, name, "destination is NULL");
    if (n_bytes > SIZE_MAX) {
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, file_name(f), 0, 0, name, "tensor too large for this machine");
    }
    uint64_t at = f->data_start + t->begin;
    if (t->dtype == MRPC_ST_F32) {
        mrpc_status s = read_at(f, at, dst, (size_t)n_bytes, err, name);
        if (s != MRPC_OK) return s;
#if ST_BIG_ENDIAN
        size_t n = (size_t)(n_bytes / 4);
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, &dst[i], 4);
            v = __builtin_bswap32(v);
            memcpy(&dst[i], &v, 4);
        }
#endif
        return MRPC_OK;
    }
    /* BF16: through a small bounce buffer. */
    unsigned char chunk[8192];
    size_t n_elems = (size_t)(n_bytes / 2), done = 0;
    while (done < n_elems) {
        size_t k = n_elems - done;
        if (k > sizeof chunk / 2) k = sizeof chunk / 2;
        mrpc_status s = read_at(f, at + (uint64_t)done * 2, chunk, k * 2, err, name);
        if (s != MRPC_OK) return s;
        for (size_t i = 0; i < k; i++) {
            dst[done + i] = mrpc_st_bf16_to_f32((uint16_t)(chunk[2 * i] | (chunk[2 * i + 1] << 8)));
        }
        done += k;
    }
    return MRPC_OK;
}

/* ---- writer ------------------------------------------------------------------------ */

typedef struct write_plan {
    const mrpc_st_write_item *item;
    uint64_t                  n_elems;
    uint64_t                  n_bytes;
} write_plan;

static int cmp_plan_order(const void *a, const void *b) {
    const write_plan *x = a, *y = b;
    int rx = dtype_info[x->item->dtype].rank, ry = dtype_info[y->item->dtype].rank;
    if (rx != ry) return rx > ry ? -1 : 1; /* descending alignment */
    return strcmp(x->item->name, y->item->name);
}

static int cmp_plan_name(const void *a, const void *b) {
    const write_plan *const *x = a, *const *y = b;
    return strcmp((*x)->item->name, (*y)->item->name);
}

/* Buffered writer over a file descriptor. */
typedef struct out_file {
    int           fd;
    size_t        used;
    unsigned char buf[1 << 16];
} out_file;

static int out_flush(out_file *o) {
    const unsigned char *p = o->buf;
    size_t left = o->used;
    while (left > 0) {
        ssize_t w = write(o->fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        p += w; left -= (size_t)w;
    }
    o->used = 0;
    return 1;
}

static int out_bytes(out_file *o, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        if (o->used == sizeof o->buf && !out_flush(o)) return 0;
        size_t k = sizeof o->buf - o->used;
        if (k > n) k = n;
        memcpy(o->buf + o->used, p, k);
        o->used += k; p += k; n -= k;
    }
    return 1;
}

/* Writes n bytes straight from `data` (after what is buffered): large tensors skip the buffer. */
static int out_direct(out_file *o, const void *data, size_t n) {
    if (!out_flush(o)) return 0;
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(o->fd, p, n < ((size_t)1 << 23) ? n : ((size_t)1 << 23));
        if (w < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static int out_tensor(out_file *o, const write_plan *p) {
    const float *src = p->item->data;
    size_t n = (size_t)p->n_elems;
    /* Little-endian F32 and U8 are already the file's bytes. */
    if (p->item->dtype == MRPC_ST_U8)
        return n > sizeof o->buf ? out_direct(o, p->item->bytes, n) : out_bytes(o, p->item->bytes, n);
    if (!ST_BIG_ENDIAN && p->item->dtype == MRPC_ST_F32 && 4 * n > sizeof o->buf) return out_direct(o, src, 4 * n);
    for (size_t i = 0; i < n;) {
        if (o->used + 4 > sizeof o->buf && !out_flush(o)) return 0;
        size_t room = (sizeof o->buf - o->used) / (p->item->dtype == MRPC_ST_F32 ? 4 : 2);
        size_t k = n - i < room ? n - i : room;
        unsigned char *q = o->buf + o->used;
        if (p->item->dtype == MRPC_ST_F32) {
            for (size_t j = 0; j < k; j++) {
                uint32_t v;
                memcpy(&v, &src[i + j], 4);
                q[4 * j] = (unsigned char)v; q[4 * j + 1] = (unsigned char)(v >> 8);
                q[4 * j + 2] = (unsigned char)(v >> 16); q[4 * j + 3] = (unsigned char)(v >> 24);
            }
            o->used += 4 * k;
        } else {
            for (size_t j = 0; j < k; j++) {
                uint16_t v = mrpc_st_bf16_from_f32(src[i + j]);
                q[2 * j] = (unsigned char)v; q[2 * j + 1] = (unsigned char)(v >> 8);
            }
            o->used += 2 * k;
        }
        i += k;
    }
    return 1;
}

/* Validates the items and builds the plan (sizes) in write order. */
static mrpc_status plan_items(const char *path, const mrpc_st_write_item *items, size_t n_items, write_plan *plan,
                              mrpc_error *err) {
    for (size_t i = 0; i < n_items; i++) {
        const mrpc_st_write_item *it = &items[i];
        if (!it->name) return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "tensor %zu has no name", i);
        if (strcmp(it->name, "__metadata__") == 0) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, it->name, "reserved name, cannot be a tensor");
        }
        if (it->dtype != MRPC_ST_F32 && it->dtype != MRPC_ST_BF16 && it->dtype != MRPC_ST_U8) {
            return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, path, 0, 0, it->name,
                                  "only F32, BF16 and U8 can be written, not %s", mrpc_st_dtype_name(it->dtype));
        }
        if (it->n_dims < 0 || it->n_dims > MRPC_ST_MAX_DIMS) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, it->name, "n_dims %d is outside 0..%d",
                                  it->n_dims, MRPC_ST_MAX_DIMS);
        }
        uint64_t n = 1;
        int overflow = 0, zero = 0;
        for (int d = 0; d < it->n_dims; d++) {
            if (it->shape[d] < 0) {
                return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, it->name, "shape[%d] is negative (%lld)", d,
                                      (long long)it->shape[d]);
            }
            uint64_t dim = (uint64_t)it->shape[d];
            if (dim == 0) zero = 1;
            else if (n > UINT64_MAX / dim) overflow = 1;
            else n *= dim;
        }
        if (zero) { n = 0; overflow = 0; }
        size_t esize = dtype_info[it->dtype].size;
        if (overflow || n > (uint64_t)INT64_MAX / esize || n > SIZE_MAX / sizeof(float)) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, it->name, "shape product overflows");
        }
        if (n > 0 && !(it->dtype == MRPC_ST_U8 ? it->bytes : (const void *)it->data))
            return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, it->name, "data is NULL");
        plan[i].item = it;
        plan[i].n_elems = n;
        plan[i].n_bytes = n * esize;
    }
    qsort(plan, n_items, sizeof *plan, cmp_plan_order);
    return MRPC_OK;
}

static mrpc_status check_unique_names(const char *path, const write_plan *plan, size_t n_items, mrpc_error *err) {
    if (n_items < 2) return MRPC_OK;
    const write_plan **byname = malloc(n_items * sizeof *byname);
    if (!byname) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < n_items; i++) byname[i] = &plan[i];
    qsort(byname, n_items, sizeof *byname, cmp_plan_name);
    mrpc_status s = MRPC_OK;
    for (size_t i = 1; i < n_items; i++) {
        if (strcmp(byname[i]->item->name, byname[i - 1]->item->name) == 0) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, byname[i]->item->name, "duplicate tensor name");
            break;
        }
    }
    free(byname);
    return s;
}

/* Builds the compact JSON header (as serde_json writes it), without padding. */
static mrpc_status build_header(const char *path, const write_plan *plan, size_t n_items, const char *const *metadata,
                                char **out, mrpc_error *err) {
    *out = NULL;
    json_t *root = json_object();
    if (!root) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
    mrpc_status s = MRPC_OK;
    if (metadata) {
        json_t *meta = json_object();
        if (!meta || json_object_set_new(root, "__metadata__", meta) != 0) {
            s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
            goto done;
        }
        for (size_t k = 0; metadata[k]; k += 2) {
            const char *key = metadata[k], *value = metadata[k + 1];
            if (!value) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "__metadata__", "key \"%.60s\" has no value", key);
                goto done;
            }
            if (json_object_get(meta, key)) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "__metadata__", "duplicate key \"%.60s\"", key);
                goto done;
            }
            if (json_object_set_new(meta, key, json_string(value)) != 0) {
                s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, "__metadata__",
                                   "key or value of \"%.60s\" is not valid UTF-8", key);
                goto done;
            }
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n_items; i++) {
        const mrpc_st_write_item *it = plan[i].item;
        json_t *entry = json_object(), *shape = json_array(), *offs = json_array();
        int bad = !entry || !shape || !offs;
        bad = bad || json_object_set_new(entry, "dtype", json_string(mrpc_st_dtype_name(it->dtype))) != 0;
        for (int d = 0; !bad && d < it->n_dims; d++) bad = json_array_append_new(shape, json_integer(it->shape[d])) != 0;
        bad = bad || json_array_append_new(offs, json_integer((json_int_t)offset)) != 0;
        bad = bad || json_array_append_new(offs, json_integer((json_int_t)(offset + plan[i].n_bytes))) != 0;
        if (bad) {
            json_decref(entry); json_decref(shape); json_decref(offs);
            s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, it->name, "out of memory");
            goto done;
        }
        json_object_set_new(entry, "shape", shape);
        json_object_set_new(entry, "data_offsets", offs);
        if (json_object_set_new(root, it->name, entry) != 0) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "tensor name \"%.60s\" is not valid UTF-8",
                               it->name);
            goto done;
        }
        offset += plan[i].n_bytes;
    }
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out) s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory");
done:
    json_decref(root);
    return s;
}

mrpc_status mrpc_st_write(const char *path, const mrpc_st_write_item *items, size_t n_items,
                          const char *const *metadata, mrpc_error *err) {
    if (!path || (n_items > 0 && !items)) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, path, 0, 0, NULL, "mrpc_st_write: NULL argument");
    }
    if (n_items > MRPC_ST_MAX_TENSORS) {
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "%zu tensors, more than the limit of %d",
                              n_items, MRPC_ST_MAX_TENSORS);
    }
    write_plan *plan = calloc(n_items ? n_items : 1, sizeof *plan);
    out_file *o = malloc(sizeof *o);
    char *header = NULL;
    char tmp[4096] = "";
    int fd = -1;
    mrpc_status s = MRPC_OK;
    if (!plan || !o) { s = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, NULL, "out of memory"); goto done; }
    if ((s = plan_items(path, items, n_items, plan, err)) != MRPC_OK) goto done;
    if ((s = check_unique_names(path, plan, n_items, err)) != MRPC_OK) goto done;
    if ((s = build_header(path, plan, n_items, metadata, &header, err)) != MRPC_OK) goto done;

    size_t len = strlen(header), pad = (8 - len % 8) % 8;
    if (len + pad > MRPC_ST_MAX_HEADER_BYTES) {
        s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "header of %zu bytes exceeds the limit", len + pad);
        goto done;
    }
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        tmp[0] = '\0';
        s = mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, NULL, "path too long");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tmp[0] = '\0';
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "cannot create temp file: %s", strerror(errno));
        goto done;
    }
    o->fd = fd;
    o->used = 0;
    unsigned char len8[8];
    uint64_t hlen = (uint64_t)(len + pad);
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hlen >> (8 * i));
    int ok = out_bytes(o, len8, 8) && out_bytes(o, header, len);
    for (size_t i = 0; ok && i < pad; i++) ok = out_bytes(o, " ", 1);
    for (size_t i = 0; ok && i < n_items; i++) ok = out_tensor(o, &plan[i]);
    ok = ok && out_flush(o);
    if (!ok) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "write failed: %s", strerror(errno));
        goto done;
    }
    if (fsync(fd) != 0) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "fsync failed: %s", strerror(errno));
        goto done;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "close failed: %s", strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        s = mrpc_error_set(err, MRPC_ERR_IO, path, 0, 0, NULL, "rename from %s failed: %s", tmp, strerror(errno));
        goto done;
    }
    tmp[0] = '\0';
    mrpc_sync_parent_dir(path); /* durability after a node's death; the rename itself succeeded */
done:
    if (fd >= 0) close(fd);
    if (tmp[0]) unlink(tmp);
    free(header);
    free(o);
    free(plan);
    return s;
}
