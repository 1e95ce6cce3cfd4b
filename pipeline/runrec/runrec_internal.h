/*
 * runrec_internal.h — helpers shared by runrec_write.c and runrec_read.c; not part of
 * the public API (nothing outside pipeline/runrec/ includes this file).
 *
 * Three concerns live here:
 *   - keeping HDF5 quiet: each public entry point saves the caller's automatic error
 *     printing, turns it off, and restores it on the way out (runrec_quiet_*), so no
 *     state of ours outlives a call and callers that want HDF5's own printing keep it;
 *   - turning an HDF5 failure into an mrpc_error that names the file, the object
 *     ("/train/loss", "/@status" for an attribute of the root, "/hparams@lr") and the
 *     library's own explanation, taken from a copy of the HDF5 error stack;
 *   - the typed attribute and string helpers both sides use.
 */
#ifndef MRPC_RUNREC_INTERNAL_H
#define MRPC_RUNREC_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "runrec.h"
#include "status.h"

/* Series names, in the order the writer keeps its dataset handles. */
enum { RUNREC_N_TRAIN = 4, RUNREC_N_EVAL = 5 };
extern const char *const runrec_train_names[RUNREC_N_TRAIN]; /* step, loss, learning_rate, grad_norm */
extern const char *const runrec_eval_names[RUNREC_N_EVAL];   /* step, epoch, accuracy, f1, loss */

/*
 * Strings are fixed-length, NUL-terminated UTF-8 attributes (never variable-length: see
 * runrec_attr_read_str). HDF5 keeps attributes in the object header, where one message
 * must stay under 64 KiB, so the writer accepts strings up to RUNREC_MAX_ATTR_STRING
 * bytes; the reader accepts up to RUNREC_MAX_STRING_BYTES (files written by other tools
 * with dense attribute storage may hold more). `status` has a fixed size so that
 * finishing a run overwrites it in place.
 */
#define RUNREC_MAX_ATTR_STRING ((size_t)60000)
#define RUNREC_MAX_STRING_BYTES ((size_t)1 << 20)
#define RUNREC_STATUS_BYTES ((size_t)16)
/* Longest status_reason kept (bytes, without the NUL): what mrpc_runrec can hold. */
#define RUNREC_REASON_MAX (sizeof(((mrpc_runrec *)0)->status_reason) - 1)

/* ---- error printing scope ---- */
typedef struct runrec_quiet {
    H5E_auto2_t func;
    void *data;
    int saved;
} runrec_quiet;

/* Saves the current automatic error handler of the default stack and disables it. */
void runrec_quiet_begin(runrec_quiet *q);
/* Restores what runrec_quiet_begin saved. */
void runrec_quiet_end(runrec_quiet *q);

/*
 * Fills `err` with `status`, file `path`, field `object` and the formatted message
 * followed by the library's explanation from the current HDF5 error stack (which it
 * takes and clears). Call it right after the failing HDF5 call. Returns `status`.
 */
mrpc_status runrec_h5_error(mrpc_error *err, mrpc_status status, const char *path, const char *object, const char *fmt,
                            ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Clears the current HDF5 error stack (after a failure that we handle ourselves). */
void runrec_h5_clear(void);

/*
 * Closes `*id` with the close function for its kind when it is valid, and sets it to
 * H5I_INVALID_HID. Returns 0, or -1 when the close failed (cleanup paths that are
 * already failing may ignore it; success paths check it).
 */
int runrec_close_id(hid_t *id);

/* ---- strings ---- */

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
int runrec_utf8_valid(const char *s, size_t n);

/*
 * Returns a malloc'd copy of `s` (NULL is taken as "") with every ill-formed UTF-8 byte
 * replaced by U+FFFD and cut at a character boundary to at most `max_bytes` bytes.
 * Returns NULL only when out of memory.
 */
char *runrec_utf8_sanitize(const char *s, size_t max_bytes);

/* The object path of an attribute for error records: "/@status", "/hparams@lr". */
void runrec_attr_path(char *buf, size_t size, const char *object, const char *attr);

/* ---- attributes (obj is a file or group handle; object is its path, for errors) ---- */

/*
 * Creates or overwrites a scalar fixed-length UTF-8 string attribute of `fixed_size`
 * bytes (terminator included), or of strlen(value) + 1 bytes when fixed_size is 0.
 * A value that does not fit gives MRPC_ERR_INVALID.
 */
mrpc_status runrec_attr_write_str(hid_t obj, const char *object, const char *name, const char *value, size_t fixed_size,
                                  const char *path, mrpc_error *err);
/* Creates or overwrites a scalar int64 attribute. */
mrpc_status runrec_attr_write_i64(hid_t obj, const char *object, const char *name, int64_t value, const char *path,
                                  mrpc_error *err);
/* Creates or overwrites a scalar float64 attribute. */
mrpc_status runrec_attr_write_f64(hid_t obj, const char *object, const char *name, double value, const char *path,
                                  mrpc_error *err);
/* Deletes the attribute when it exists. */
mrpc_status runrec_attr_delete_if_exists(hid_t obj, const char *object, const char *name, const char *path,
                                         mrpc_error *err);

/*
 * Reads a fixed-length string attribute (ASCII or UTF-8, any padding, one element)
 * into a new malloc'd NUL-terminated string. Variable-length strings are refused with
 * MRPC_ERR_PARSE without being read. When the attribute is missing: with
 * `required` fails with MRPC_ERR_PARSE, else sets *out = NULL and returns MRPC_OK.
 * Anything that is not a one-element string fails with MRPC_ERR_PARSE.
 */
mrpc_status runrec_attr_read_str(hid_t obj, const char *object, const char *name, int required, char **out,
                                 const char *path, mrpc_error *err);
/* Reads a one-element integer attribute (any integer type) as int64; *found = 0 when absent. */
mrpc_status runrec_attr_read_i64(hid_t obj, const char *object, const char *name, int64_t *out, int *found,
                                 const char *path, mrpc_error *err);
/* Reads a one-element floating-point attribute as double; *found = 0 when absent. */
mrpc_status runrec_attr_read_f64(hid_t obj, const char *object, const char *name, double *out, int *found,
                                 const char *path, mrpc_error *err);

/*
 * Checks the root attributes `format` and `format_version` of an open file: a missing
 * or different format gives MRPC_ERR_PARSE, a newer format_version MRPC_ERR_UNSUPPORTED,
 * an older or impossible one MRPC_ERR_PARSE, each with a hint. Sets *version.
 */
mrpc_status runrec_check_format(hid_t file, const char *path, int *version, mrpc_error *err);

/*
 * A file-access property list for a record: STRONG close degree (closing the file
 * closes everything still open in it); for a writer the HDF5 1.8 file format
 * (checksummed superblock and object headers) and file locking on; for a reader file locking off, when the
 * library has H5Pset_file_locking (1.10.7 and later; with older libraries readers
 * need HDF5_USE_FILE_LOCKING=FALSE in the environment).
 */
hid_t runrec_fapl(int writer, const char *path, mrpc_error *err);

#endif /* MRPC_RUNREC_INTERNAL_H */
