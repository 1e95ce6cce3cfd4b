/* fuzz_runrec.c — libFuzzer target for the run-record reader: the input bytes are
 * written to a scratch file and read back with mrpc_runrec_read (everything asked for, then
 * the attributes alone, as the optimizer reads).
 * A damaged record must give an error, never a crash, a leak, or an HDF5 object left
 * open (checked after every input, so a handle our reader forgets shows up here).
 * Seeds: tests/fuzz/corpus/fuzz_runrec/, made by runrec_make_seeds (see runrec.cmake). */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libhdf5 1.10.8 leaks small blocks on some error paths for damaged files (seen: object
 * header chunks allocated under H5Fopen -> H5G_mkroot -> H5O_protect when the header is
 * rejected). Those are the library's, and the library is not built with frame pointers,
 * so LeakSanitizer's stacks end in libhdf5 and only the module name can be matched.
 * HDF5 objects our reader leaves open are caught separately below (H5Fget_obj_count),
 * and our own allocations are still checked.
 */
const char *__lsan_default_suppressions(void) { return "leak:libhdf5_serial.so\nleak:libhdf5.so\n"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_runrec_%ld.h5", dir && dir[0] ? dir : "/tmp", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t written = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || written != size) {
        unlink(path);
        return 0;
    }
    mrpc_runrec rec;
    mrpc_error err = {0};
    if (mrpc_runrec_read(path, MRPC_RUNREC_READ_SERIES | MRPC_RUNREC_READ_PREDICTIONS, &rec, &err) == MRPC_OK) {
        /* Touch what a caller touches, so out-of-bounds counts show up under ASan. */
        volatile double sink = 0;
        double v;
        if (mrpc_runrec_metric(&rec, "accuracy", &v)) sink += v;
        if (mrpc_runrec_metric(&rec, "eval_loss", &v)) sink += v;
        for (size_t i = 0; i < rec.n_train; i++)
            sink += rec.train_loss[i] + (double)rec.train_step[i];
        for (size_t i = 0; i < rec.n_eval; i++)
            sink += rec.eval_f1[i] + (double)rec.eval_epoch[i];
        for (size_t i = 0; i < rec.n_predictions; i++)
            sink += rec.predictions[i] + rec.labels[i];
        for (size_t i = 0; i < rec.n_hparams; i++)
            sink += mrpc_hparam_as_double(&rec.hparams[i]);
        (void)sink;
        mrpc_runrec_clear(&rec);
    }
    /* The optimizer's cheap read of the same bytes. */
    if (mrpc_runrec_read(path, MRPC_RUNREC_READ_ATTRS_ONLY, &rec, &err) == MRPC_OK) {
        volatile double sink = 0;
        double v;
        if (mrpc_runrec_metric(&rec, "accuracy", &v)) sink += v;
        for (size_t i = 0; i < rec.n_hparams; i++)
            sink += mrpc_hparam_as_double(&rec.hparams[i]);
        (void)sink;
        mrpc_runrec_clear(&rec);
    }
    /* The optimizer's learning-curve read (attributes and /eval, no /train). */
    if (mrpc_runrec_read(path, MRPC_RUNREC_READ_EVAL, &rec, &err) == MRPC_OK) {
        volatile double sink = (double)rec.paused_epoch;
        for (size_t i = 0; i < rec.n_eval; i++) sink += rec.eval_accuracy[i] + rec.eval_f1[i] + (double)rec.eval_epoch[i];
        (void)sink;
        mrpc_runrec_clear(&rec);
    }
    unlink(path);
    /* Nothing of the file may stay open in HDF5 after a read, success or not. */
    ssize_t open_objs = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objs != 0) {
        fprintf(stderr, "fuzz_runrec: %zd HDF5 objects left open after mrpc_runrec_read\n", open_objs);
        abort();
    }
    return 0;
}
