/* runrec_h5.c — HDF5 error capture, typed attributes and UTF-8 checks shared by the
 * run-record writer and reader (see runrec_internal.h). */
#include "runrec_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

const char *const runrec_train_names[RUNREC_N_TRAIN] = {"step", "loss", "learning_rate", "grad_norm"};
const char *const runrec_eval_names[RUNREC_N_EVAL]   = {"step", "epoch", "accuracy", "f1", "loss"};

/* ---- error printing scope --------------------------------------------------------- */

void runrec_quiet_begin(runrec_quiet *q) {
    q->func  = NULL;
    q->data  = NULL;
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0;
    /* If this fails HDF5 may print a stack on a later failure; nothing else changes. */
    if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0) q->saved = 0;
}

void runrec_quiet_end(runrec_quiet *q) {
    if (!q->saved) return;
    /* Restoring the caller's printer cannot usefully fail; the result is ignored on purpose. */
    (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
    q->saved = 0;
}

/* ---- error capture ------------------------------------------------------------------ */

typedef struct walk_ctx {
    unsigned n;
    char top[256];       /* the API-level entry ("unable to open file") */
    char deep[384];      /* the innermost entry: the actual cause */
    char deep_minor[96]; /* its minor message ("Not an HDF5 file") */
} walk_ctx;

/* Copies src into dst with control characters (HDF5 puts newlines in some) as spaces. */
static void copy_flat(char *dst, size_t size, const char *src) {
    size_t j = 0;
    for (size_t i = 0; src && src[i] && j + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f) {
            if (j > 0 && dst[j - 1] != ' ') dst[j++] = ' ';
        } else {
            dst[j++] = (char)c;
        }
    }
    while (j > 0 && dst[j - 1] == ' ')
        j--;
    dst[j] = '\0';
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    walk_ctx *c = data;
    if (n == 0) copy_flat(c->top, sizeof c->top, e->desc);
    copy_flat(c->deep, sizeof c->deep, e->desc);
    c->deep_minor[0] = '\0';
    char minor[96];
    if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) > 0) copy_flat(c->deep_minor, sizeof c->deep_minor, minor);
    c->n = n + 1;
    return 0;
}

mrpc_status runrec_h5_error(mrpc_error *err, mrpc_status status, const char *path, const char *object, const char *fmt,
                            ...) {
    walk_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    hid_t stack = H5Eget_current_stack(); /* takes a copy and clears the current stack */
    if (stack >= 0) {
        if (H5Ewalk2(stack, H5E_WALK_DOWNWARD, walk_cb, &ctx) < 0) ctx.n = 0;
        if (H5Eclose_stack(stack) < 0) { /* nothing more to do: the record is still useful */
        }
    }
    if (!err) return status;
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ctx.n == 0) return mrpc_error_set(err, status, path, 0, 0, object, "%s", what);
    if (ctx.n == 1 || strcmp(ctx.top, ctx.deep) == 0) {
        if (ctx.deep_minor[0])
            return mrpc_error_set(err, status, path, 0, 0, object, "%s: HDF5: %s (%s)", what, ctx.top, ctx.deep_minor);
        return mrpc_error_set(err, status, path, 0, 0, object, "%s: HDF5: %s", what, ctx.top);
    }
    if (ctx.deep_minor[0])
        return mrpc_error_set(err, status, path, 0, 0, object, "%s: HDF5: %s: %s (%s)", what, ctx.top, ctx.deep,
                              ctx.deep_minor);
    return mrpc_error_set(err, status, path, 0, 0, object, "%s: HDF5: %s: %s", what, ctx.top, ctx.deep);
}

void runrec_h5_clear(void) {
    /* Clearing the default stack only fails when the library is broken; ignored on purpose. */
    (void)H5Eclear2(H5E_DEFAULT);
}

int runrec_close_id(hid_t *id) {
    if (!id || *id < 0) return 0;
    herr_t r = -1;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: r = H5Fclose(*id); break;
    case H5I_GROUP: r = H5Gclose(*id); break;
    case H5I_DATASET: r = H5Dclose(*id); break;
    case H5I_ATTR: r = H5Aclose(*id); break;
    case H5I_DATASPACE: r = H5Sclose(*id); break;
    case H5I_DATATYPE: r = H5Tclose(*id); break;
    case H5I_GENPROP_LST: r = H5Pclose(*id); break;
    default: r = -1; break;
    }
    *id = H5I_INVALID_HID;
    return r < 0 ? -1 : 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is ill-formed. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp  = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp  = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp  = c & 0x07;
    } else
        return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return len;
}

int runrec_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i               = 0;
    while (i < n) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0) return 0;
        i += len;
    }
    return 1;
}

char *runrec_utf8_sanitize(const char *s, size_t max_bytes) {
    if (!s) s = "";
    size_t n = strlen(s);
    /* Worst case every byte becomes a 3-byte U+FFFD. */
    size_t cap = (n < max_bytes ? n : max_bytes) * 3 + 1;
    if (cap > max_bytes + 1) cap = max_bytes + 1;
    char *out = malloc(cap);
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, j = 0;
    while (i < n) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0) {
            if (j + 3 > max_bytes) break;
            memcpy(out + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i += 1;
        } else {
            if (j + len > max_bytes) break;
            memcpy(out + j, p + i, len);
            j += len;
            i += len;
        }
    }
    out[j] = '\0';
    return out;
}

void runrec_attr_path(char *buf, size_t size, const char *object, const char *attr) {
    snprintf(buf, size, "%s@%s", object ? object : "/", attr ? attr : "");
}

/* ---- attributes: writing -------------------------------------------------------------- */

/* A fixed-length, NUL-terminated UTF-8 string type of `size` bytes (terminator included). */
static hid_t fixed_utf8_type(size_t size) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return H5I_INVALID_HID;
    if (H5Tset_size(t, size) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        runrec_close_id(&t);
        return H5I_INVALID_HID;
    }
    return t;
}

/*
 * Writes a scalar attribute of file type `ftype` from memory type `mtype`: reuses an
 * existing attribute of the same type and shape, else deletes it and creates a new one.
 */
static mrpc_status attr_write(hid_t obj, const char *object, const char *name, hid_t ftype, hid_t mtype,
                              const void *buf, const char *path, mrpc_error *err) {
    char where[256];
    runrec_attr_path(where, sizeof where, object, name);
    mrpc_status st = MRPC_OK;
    hid_t attr = H5I_INVALID_HID, space = H5I_INVALID_HID, atype = H5I_INVALID_HID, aspace = H5I_INVALID_HID;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot check the attribute");
        goto done;
    }
    if (exists > 0) {
        attr = H5Aopen(obj, name, H5P_DEFAULT);
        if (attr < 0) {
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot open the attribute");
            goto done;
        }
        atype    = H5Aget_type(attr);
        aspace   = H5Aget_space(attr);
        int same = 0;
        if (atype >= 0 && aspace >= 0) {
            htri_t eq = H5Tequal(atype, ftype);
            same      = eq > 0 && H5Sget_simple_extent_type(aspace) == H5S_SCALAR;
        }
        runrec_h5_clear();
        if (!same) {
            runrec_close_id(&attr);
            if (H5Adelete(obj, name) < 0) {
                st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot replace the attribute");
                goto done;
            }
        }
    }
    if (attr < 0) {
        space = H5Screate(H5S_SCALAR);
        if (space < 0) {
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot make a dataspace");
            goto done;
        }
        attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
        if (attr < 0) {
            st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot create the attribute");
            goto done;
        }
    }
    if (H5Awrite(attr, mtype, buf) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot write the attribute");
        goto done;
    }
    if (runrec_close_id(&attr) < 0) st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot close the attribute");
done:
    runrec_close_id(&attr);
    runrec_close_id(&space);
    runrec_close_id(&atype);
    runrec_close_id(&aspace);
    return st;
}

mrpc_status runrec_attr_write_str(hid_t obj, const char *object, const char *name, const char *value, size_t fixed_size,
                                  const char *path, mrpc_error *err) {
    char where[256];
    runrec_attr_path(where, sizeof where, object, name);
    const char *v = value ? value : "";
    size_t len    = strlen(v);
    size_t size   = fixed_size ? fixed_size : len + 1;
    if (len + 1 > size || size > RUNREC_MAX_ATTR_STRING + 1)
        return mrpc_error_set(err, MRPC_ERR_INVALID, path, 0, 0, where,
                              "string of %zu bytes does not fit the attribute (at most %zu)", len,
                              (fixed_size ? fixed_size : RUNREC_MAX_ATTR_STRING + 1) - 1);
    char *buf = calloc(size, 1);
    if (!buf) return mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, where, "out of memory");
    memcpy(buf, v, len);
    hid_t t = fixed_utf8_type(size);
    mrpc_status st;
    if (t < 0)
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot make a string type");
    else
        st = attr_write(obj, object, name, t, t, buf, path, err);
    runrec_close_id(&t);
    free(buf);
    return st;
}

mrpc_status runrec_attr_write_i64(hid_t obj, const char *object, const char *name, int64_t value, const char *path,
                                  mrpc_error *err) {
    return attr_write(obj, object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, path, err);
}

mrpc_status runrec_attr_write_f64(hid_t obj, const char *object, const char *name, double value, const char *path,
                                  mrpc_error *err) {
    return attr_write(obj, object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, path, err);
}

mrpc_status runrec_attr_delete_if_exists(hid_t obj, const char *object, const char *name, const char *path,
                                         mrpc_error *err) {
    char where[256];
    runrec_attr_path(where, sizeof where, object, name);
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0) return runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot check the attribute");
    if (exists > 0 && H5Adelete(obj, name) < 0)
        return runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot delete the attribute");
    return MRPC_OK;
}

/* ---- attributes: reading -------------------------------------------------------------- */

/*
 * Opens attribute `name` of `obj` when it exists and checks that it holds one element
 * of type class `cls` (or `cls2` when that is not H5T_NO_CLASS). On return *attr is
 * the open attribute and *type its type, or both invalid with *found = 0 when absent.
 */
static mrpc_status attr_open_one(hid_t obj, const char *where, const char *name, H5T_class_t cls, H5T_class_t cls2,
                                 const char *expected, hid_t *attr, hid_t *type, int *found, const char *path,
                                 mrpc_error *err) {
    *attr         = H5I_INVALID_HID;
    *type         = H5I_INVALID_HID;
    *found        = 0;
    hid_t space   = H5I_INVALID_HID;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0)
        return runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot look up the attribute (damaged file?)");
    if (exists == 0) return MRPC_OK;
    mrpc_status st = MRPC_OK;
    *attr          = H5Aopen(obj, name, H5P_DEFAULT);
    if (*attr < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot open the attribute (damaged file?)");
        goto fail;
    }
    *type = H5Aget_type(*attr);
    if (*type < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the attribute's type");
        goto fail;
    }
    H5T_class_t c = H5Tget_class(*type);
    if (c == H5T_NO_CLASS) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the attribute's type class");
        goto fail;
    }
    if (c != cls && (cls2 == H5T_NO_CLASS || c != cls2)) {
        st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where, "expected %s, found an attribute of another type",
                            expected);
        goto fail;
    }
    space = H5Aget_space(*attr);
    if (space < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the attribute's shape");
        goto fail;
    }
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    if (npoints < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the attribute's shape");
        goto fail;
    }
    if (npoints != 1) {
        st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where, "expected a single %s, found %lld elements",
                            expected, (long long)npoints);
        goto fail;
    }
    runrec_close_id(&space);
    *found = 1;
    return MRPC_OK;
fail:
    runrec_close_id(&space);
    runrec_close_id(type);
    runrec_close_id(attr);
    return st;
}

mrpc_status runrec_attr_read_str(hid_t obj, const char *object, const char *name, int required, char **out,
                                 const char *path, mrpc_error *err) {
    *out = NULL;
    char where[256];
    runrec_attr_path(where, sizeof where, object, name);
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, mem = H5I_INVALID_HID;
    int found = 0;
    mrpc_status st =
        attr_open_one(obj, where, name, H5T_STRING, H5T_NO_CLASS, "a string", &attr, &type, &found, path, err);
    if (st != MRPC_OK) return st;
    if (!found) {
        if (required)
            return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where,
                                  "required attribute '%s' is missing (not a complete mrpc-tune run record)", name);
        return MRPC_OK;
    }
    char *buf       = NULL;
    H5T_cset_t cset = H5Tget_cset(type);
    htri_t is_vlen  = H5Tis_variable_str(type);
    size_t size     = H5Tget_size(type);
    if (cset < 0 || is_vlen < 0 || size == 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the string type");
        goto done;
    }
    if (is_vlen) {
        /* Not read on purpose: variable-length strings live in HDF5's global heap, whose
         * reader (H5HG_read in 1.10.8) crashes on damaged files (found by fuzz_runrec). */
        st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where,
                            "'%s' is a variable-length string; run records hold fixed-length UTF-8 strings "
                            "(from h5py assign numpy.bytes_(text.encode()); see docs/run-record.md)",
                            name);
        goto done;
    }
    if (size > RUNREC_MAX_STRING_BYTES) {
        st = mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, where,
                            "string of %zu bytes is longer than the limit of %zu", size, RUNREC_MAX_STRING_BYTES);
        goto done;
    }
    /* Memory type one byte longer, NUL-terminated: keeps every byte of a NULLPAD or
     * SPACEPAD string that fills its whole size. */
    mem = H5Tcopy(H5T_C_S1);
    if (mem < 0 || H5Tset_cset(mem, cset) < 0 || H5Tset_strpad(mem, H5T_STR_NULLTERM) < 0 ||
        H5Tset_size(mem, size + 1) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_HDF5, path, where, "cannot make a string type");
        goto done;
    }
    buf = calloc(size + 2, 1);
    if (!buf) {
        st = mrpc_error_set(err, MRPC_ERR_NOMEM, path, 0, 0, where, "out of memory");
        goto done;
    }
    if (H5Aread(attr, mem, buf) < 0) {
        st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read the string (damaged file?)");
        goto done;
    }
    buf[size] = '\0';
    *out      = buf;
    buf       = NULL;
done:
    free(buf);
    runrec_close_id(&mem);
    runrec_close_id(&type);
    runrec_close_id(&attr);
    return st;
}

/* One scalar attribute of class `cls` (or `alt`) read as `memtype` into `out`. */
static mrpc_status attr_read_scalar(hid_t obj, const char *object, const char *name, H5T_class_t cls, H5T_class_t alt,
                                    const char *what, hid_t memtype, void *out, int *found, const char *path,
                                    mrpc_error *err) {
    char where[256];
    runrec_attr_path(where, sizeof where, object, name);
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID;
    mrpc_status st = attr_open_one(obj, where, name, cls, alt, what, &attr, &type, found, path, err);
    if (st != MRPC_OK || !*found) return st;
    if (H5Aread(attr, memtype, out) < 0) st = runrec_h5_error(err, MRPC_ERR_PARSE, path, where, "cannot read %s", what);
    runrec_close_id(&type);
    runrec_close_id(&attr);
    return st;
}

mrpc_status runrec_attr_read_i64(hid_t obj, const char *object, const char *name, int64_t *out, int *found,
                                 const char *path, mrpc_error *err) {
    int64_t v      = 0;
    mrpc_status st = attr_read_scalar(obj, object, name, H5T_INTEGER, H5T_NO_CLASS, "an integer", H5T_NATIVE_INT64, &v,
                                      found, path, err);
    if (st == MRPC_OK && *found) *out = v;
    return st;
}

mrpc_status runrec_attr_read_f64(hid_t obj, const char *object, const char *name, double *out, int *found,
                                 const char *path, mrpc_error *err) {
    double v       = 0;
    mrpc_status st = attr_read_scalar(obj, object, name, H5T_FLOAT, H5T_INTEGER, "a number", H5T_NATIVE_DOUBLE, &v,
                                      found, path, err);
    if (st == MRPC_OK && *found) *out = v;
    return st;
}

mrpc_status runrec_check_format(hid_t file, const char *path, int *version, mrpc_error *err) {
    char *format   = NULL;
    mrpc_status st = runrec_attr_read_str(file, "/", "format", 0, &format, path, err);
    if (st != MRPC_OK) return st;
    if (!format) {
        return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, "/@format",
                              "not an mrpc-tune run record: the root has no 'format' attribute "
                              "(expected \"%s\"; run records are written by mrpc-train)",
                              MRPC_RUNREC_FORMAT);
    }
    if (strcmp(format, MRPC_RUNREC_FORMAT) != 0) {
        char shown[64];
        mrpc_str_copy(shown, sizeof shown, format);
        free(format);
        return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, "/@format",
                              "not an mrpc-tune run record: format is \"%s\", expected \"%s\"", shown,
                              MRPC_RUNREC_FORMAT);
    }
    free(format);
    int64_t v = 0;
    int found = 0;
    st        = runrec_attr_read_i64(file, "/", "format_version", &v, &found, path, err);
    if (st != MRPC_OK) return st;
    if (!found)
        return mrpc_error_set(
            err, MRPC_ERR_PARSE, path, 0, 0, "/@format_version",
            "run record without a 'format_version' attribute (damaged, or not written by mrpc-train)");
    if (v > MRPC_RUNREC_FORMAT_VERSION)
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, path, 0, 0, "/@format_version",
                              "format_version %" PRId64 " is newer than this build reads (%d): the record was written "
                              "by a newer mrpc-tune; upgrade this one to read it",
                              v, MRPC_RUNREC_FORMAT_VERSION);
    if (v < 1)
        return mrpc_error_set(err, MRPC_ERR_PARSE, path, 0, 0, "/@format_version",
                              "format_version %" PRId64 " was never written by mrpc-tune (versions start at 1, this "
                              "build reads %d): the file is damaged or comes from another tool",
                              v, MRPC_RUNREC_FORMAT_VERSION);
    if (v < MRPC_RUNREC_FORMAT_VERSION)
        return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, path, 0, 0, "/@format_version",
                              "format_version %" PRId64 " is older than this build reads (%d): re-run the training "
                              "with this mrpc-tune, or read it with the release that wrote it",
                              v, MRPC_RUNREC_FORMAT_VERSION);
    *version = (int)v;
    return MRPC_OK;
}

hid_t runrec_fapl(int writer, const char *path, mrpc_error *err) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) {
        runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot make a file access property list");
        return H5I_INVALID_HID;
    }
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot set the file close degree");
        runrec_close_id(&fapl);
        return H5I_INVALID_HID;
    }
    /* The HDF5 1.8 file format: superblock v2 and v2 object headers, which carry
     * checksums, so a damaged header is rejected when it is loaded instead of being
     * decoded (libhdf5 1.10.8 has heap overflows decoding damaged v1 headers, found by
     * fuzz_runrec). Not the 1.10 format: its superblock v3 records "open for writing",
     * and then no reader can open the file while mrpc-train runs, nor after it died,
     * until someone runs h5clear. Fixed at V18, not LATEST, so a build against a newer
     * HDF5 writes the same format. */
    if (writer && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
        runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot select the HDF5 1.8 file format");
        runrec_close_id(&fapl);
        return H5I_INVALID_HID;
    }
#if H5_VERSION_GE(1, 10, 7)
    /* ignore_when_disabled = 1: file systems without flock (some Lustre mounts) still work. */
    if (H5Pset_file_locking(fapl, writer ? 1 : 0, 1) < 0) {
        runrec_h5_error(err, MRPC_ERR_HDF5, path, NULL, "cannot set file locking");
        runrec_close_id(&fapl);
        return H5I_INVALID_HID;
    }
#else
    /* older HDF5: readers need HDF5_USE_FILE_LOCKING=FALSE in the environment */
#endif
    return fapl;
}
