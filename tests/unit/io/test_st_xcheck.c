/* test_st_xcheck.c — safetensors cross-check against an independent Python writer/reader
 * (tests/unit/io/st_reference.py, run with Debian's /usr/bin/python3, numpy and torch).
 *
 * C -> Python: the C writer's file is verified byte for byte by the script (layout,
 * order, padding, F32 bits, and BF16 bits against torch's own rounding).
 * Python -> C: the script writes the same tensors (an aligned file and a legacy
 * safetensors <= 0.3.0 file with misaligned data and another tensor order) and the C
 * reader must return the same values. Exits 77 when python3, numpy or torch is missing.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"

/* Kept in sync with SPECIAL_BITS in st_reference.py. */
static const uint32_t special_bits[] = {
    0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F808001u, 0x3F807FFFu, 0xBF818000u, 0x7F7FFFFFu,
    0x7F7F7FFFu, 0x7F800000u, 0xFF800000u, 0x80000000u, 0x00000000u, 0x00000001u, 0x00008000u,
    0x00018000u, 0x007FFFFFu, 0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x3EAAAAABu, 0xC2F6E979u,
};
enum { N_SPECIAL = sizeof special_bits / sizeof special_bits[0], N_TENSORS = 9 };

/* formula() in st_reference.py */
static void formula(uint64_t seed, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)(((uint64_t)i * 2654435761ull + seed * 97ull) % 20001ull) - 10000;
        out[i] = (float)k / 37.0f;
    }
}

typedef struct xtensor {
    const char   *name;
    mrpc_st_dtype dtype;
    int           n_dims;
    int64_t       shape[4];
    size_t        n;
    float         values[3000];
} xtensor;

/* expected() in st_reference.py */
static void expected(xtensor *t) {
    memset(t, 0, N_TENSORS * sizeof *t);
    t[0] = (xtensor){"w.f32", MRPC_ST_F32, 2, {3, 5}, 15, {0}};
    formula(1, t[0].values, 15);
    t[1] = (xtensor){"w.bf16", MRPC_ST_BF16, 1, {7}, 7, {0}};
    formula(2, t[1].values, 7);
    t[2] = (xtensor){"scalar", MRPC_ST_F32, 0, {0}, 1, {0}};
    formula(3, t[2].values, 1);
    t[3] = (xtensor){"empty", MRPC_ST_F32, 2, {0, 4}, 0, {0}};
    t[4] = (xtensor){"empty.bf16", MRPC_ST_BF16, 3, {2, 0, 3}, 0, {0}};
    t[5] = (xtensor){"special.f32", MRPC_ST_F32, 1, {N_SPECIAL}, N_SPECIAL, {0}};
    memcpy(t[5].values, special_bits, sizeof special_bits);
    t[6] = (xtensor){"special.bf16", MRPC_ST_BF16, 1, {N_SPECIAL}, N_SPECIAL, {0}};
    memcpy(t[6].values, special_bits, sizeof special_bits);
    t[7] = (xtensor){"a.long.name/with.dots_0", MRPC_ST_BF16, 3, {2, 2, 2}, 8, {0}};
    formula(4, t[7].values, 8);
    t[8] = (xtensor){"big", MRPC_ST_F32, 2, {1000, 3}, 3000, {0}};
    formula(5, t[8].values, 3000);
}

/* Runs /usr/bin/python3 script args...; returns its exit status (-1 when it did not run). */
static int run_python(const char *script, const char *a1, const char *a2, const char *a3) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl(PYTHON, PYTHON, script, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

static void check_file(const char *path, const char *producer, const xtensor *t) {
    mrpc_error err = {0};
    mrpc_st_file *f = NULL;
    if (!CHECK_OK(mrpc_st_open(path, &f, &err), &err)) return;
    CHECK(mrpc_st_count(f) == N_TENSORS, "%s: %zu tensors", path, mrpc_st_count(f));
    const char *p = mrpc_st_metadata(f, "producer");
    CHECK(p && strcmp(p, producer) == 0, "%s: producer %s", path, p ? p : "(none)");
    float got[3000];
    for (int k = 0; k < N_TENSORS; k++) {
        const mrpc_st_tensor *h = mrpc_st_find(f, t[k].name);
        if (!CHECK(h != NULL, "%s: tensor %s missing", path, t[k].name)) continue;
        CHECK(h->dtype == t[k].dtype, "%s: %s dtype %s", path, t[k].name, mrpc_st_dtype_name(h->dtype));
        if (!CHECK_OK(mrpc_st_read_f32(f, t[k].name, t[k].shape, t[k].n_dims, got, &err), &err)) continue;
        int bad = 0;
        for (size_t i = 0; i < t[k].n; i++) {
            float want = t[k].values[i];
            if (t[k].dtype == MRPC_ST_BF16) want = mrpc_st_bf16_to_f32(mrpc_st_bf16_from_f32(want));
            int same = isnan(want) ? isnan(got[i]) : memcmp(&got[i], &want, sizeof want) == 0;
            if (!same && bad++ < 3) {
                uint32_t gb, wb;
                memcpy(&gb, &got[i], 4);
                memcpy(&wb, &want, 4);
                fprintf(stderr, "  %s[%zu]: got 0x%08X want 0x%08X\n", t[k].name, i, gb, wb);
            }
        }
        CHECK(bad == 0, "%s: %s: %d values differ (torch vs our bf16 rounding?)", path, t[k].name, bad);
    }
    mrpc_st_close(f);
}

int main(void) {
    if (access(PYTHON, X_OK) != 0) mrpc_test_skip(PYTHON " not found");
    const char *src = getenv("MRPC_SOURCE_DIR");
    if (!src) mrpc_test_skip("MRPC_SOURCE_DIR not set (run through ctest)");
    char script[1024], c_file[1024], py_file[1024], py_legacy[1024];
    snprintf(script, sizeof script, "%s/tests/unit/io/st_reference.py", src);
    snprintf(c_file, sizeof c_file, "%s/from_c.safetensors", mrpc_test_tmpdir());
    snprintf(py_file, sizeof py_file, "%s/from_py.safetensors", mrpc_test_tmpdir());
    snprintf(py_legacy, sizeof py_legacy, "%s/from_py_legacy.safetensors", mrpc_test_tmpdir());

    xtensor *t = malloc(N_TENSORS * sizeof *t);
    expected(t);
    mrpc_st_write_item items[N_TENSORS];
    for (int k = 0; k < N_TENSORS; k++) {
        items[k] = (mrpc_st_write_item){t[k].name, t[k].dtype, t[k].n_dims, {0}, t[k].values, NULL};
        memcpy(items[k].shape, t[k].shape, sizeof t[k].shape);
    }
    const char *meta[] = {"format", "pt", "producer", "mrpc-c", NULL};
    mrpc_error err = {0};
    CHECK_OK(mrpc_st_write(c_file, items, N_TENSORS, meta, &err), &err);

    int rc = run_python(script, "check", c_file, NULL);
    if (rc == 77) { free(t); mrpc_test_skip("numpy or torch missing in " PYTHON); }
    CHECK(rc == 0, "python check of the C-written file: exit %d", rc);

    rc = run_python(script, "write", py_file, py_legacy);
    CHECK(rc == 0, "python writer: exit %d", rc);
    if (rc == 0) {
        check_file(py_file, "st_reference.py", t);
        check_file(py_legacy, "st_reference.py", t);
        /* the legacy file really is misaligned */
        FILE *fp = fopen(py_legacy, "rb");
        unsigned char len8[8] = {0};
        if (fp) { CHECK(fread(len8, 1, 8, fp) == 8, "read length"); fclose(fp); }
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | len8[i];
        CHECK((8 + hlen) % 4 != 0, "legacy file's data starts at a misaligned offset (%llu)",
              (unsigned long long)(8 + hlen));
    }
    free(t);
    return mrpc_test_report();
}
