/* test_safetensors.c — safetensors round trips, reference byte layout, BF16 rounding,
 * unaligned files, and every malformed-input path (each must fail cleanly, naming the
 * file and, where there is one, the tensor). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "safetensors.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------------- */

enum { PATH_CAP = 1024 };

/* Writes "<tmpdir>/<name>" into buf (PATH_CAP bytes) and returns buf. */
static const char *tmp_path(char *buf, const char *name) {
    snprintf(buf, PATH_CAP, "%s/%s", mrpc_test_tmpdir(), name);
    return buf;
}

static float bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* A file image: 8-byte length `hlen` (as given, may lie), `header`, `pad` spaces, then `data_len` bytes 0..255. */
typedef struct image {
    unsigned char *bytes;
    size_t         size;
} image;

static image make_image_len(uint64_t hlen, const char *header, size_t pad, size_t data_len) {
    size_t h = strlen(header);
    image im;
    im.size = 8 + h + pad + data_len;
    im.bytes = malloc(im.size ? im.size : 1);
    for (int i = 0; i < 8; i++) im.bytes[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(im.bytes + 8, header, h);
    memset(im.bytes + 8 + h, ' ', pad);
    for (size_t i = 0; i < data_len; i++) im.bytes[8 + h + pad + i] = (unsigned char)(i * 7 + 1);
    return im;
}

static image make_image(const char *header, size_t data_len) {
    size_t h = strlen(header), pad = (8 - h % 8) % 8;
    return make_image_len(h + pad, header, pad, data_len);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    mrpc_error err = {0};
    CHECK_OK(mrpc_file_write_atomic(path, data, n, &err), &err);
}

/*
 * Checks that `im` is rejected both from memory and from a file, that the error names
 * the file, and that err.field is `field` (NULL: no requirement; "" : must be empty).
 */
static void expect_bad_image(const char *what, image im, const char *field) {
    char fname[64], pbuf[PATH_CAP];
    snprintf(fname, sizeof fname, "bad_%016llx.safetensors",
             (unsigned long long)mrpc_fnv1a(MRPC_FNV1A_INIT, what, strlen(what)));
    const char *path = tmp_path(pbuf, fname);
    write_bytes(path, im.bytes, im.size);

    mrpc_error err = {0};
    mrpc_st_file *f = (mrpc_st_file *)1;
    mrpc_status s = mrpc_st_open(path, &f, &err);
    CHECK(s != MRPC_OK, "%s: file accepted", what);
    CHECK(f == NULL, "%s: handle not NULL on failure", what);
    CHECK(strcmp(err.file, path) == 0, "%s: err.file '%s'", what, err.file);
    CHECK(err.message[0] != '\0', "%s: empty message", what);
    if (field) CHECK(strcmp(err.field, field) == 0, "%s: err.field '%s', want '%s' (%s)", what, err.field, field, err.message);

    mrpc_error err2 = {0};
    mrpc_st_file *g = NULL;
    mrpc_status s2 = mrpc_st_open_memory("mem.safetensors", im.bytes, im.size, &g, &err2);
    CHECK(s2 != MRPC_OK && g == NULL, "%s: memory image accepted", what);
    CHECK(s2 == s, "%s: memory status %d vs file status %d", what, (int)s2, (int)s);
    CHECK(strcmp(err2.file, "mem.safetensors") == 0, "%s: memory err.file '%s'", what, err2.file);
    if (field) CHECK(strcmp(err2.field, field) == 0, "%s: memory err.field '%s'", what, err2.field);
    mrpc_st_close(g);
    free(im.bytes);
}

static void expect_bad(const char *what, const char *header, size_t data_len, const char *field) {
    expect_bad_image(what, make_image(header, data_len), field);
}

static int expect_good(const char *what, const char *header, size_t data_len) {
    image im = make_image(header, data_len);
    mrpc_error err = {0};
    mrpc_st_file *f = NULL;
    int ok = CHECK_OK(mrpc_st_open_memory(what, im.bytes, im.size, &f, &err), &err);
    mrpc_st_close(f);
    free(im.bytes);
    return ok;
}

static void fill(float *v, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) v[i] = scale * (float)((int)((i * 2654435761u) % 2001u) - 1000) / 37.0f;
}

/* ---- BF16 ------------------------------------------------------------------------- */

static void test_bf16_rounding(void) {
    static const struct { uint32_t in; uint16_t out; const char *what; } cases[] = {
        {0x3F800000u, 0x3F80, "1.0 exact"},
        {0x3F808000u, 0x3F80, "tie, even below: stays"},
        {0x3F818000u, 0x3F82, "tie, odd below: rounds up"},
        {0x3F808001u, 0x3F81, "just above tie: up"},
        {0x3F807FFFu, 0x3F80, "just below tie: down"},
        {0xBF818000u, 0xBF82, "negative tie rounds away from odd"},
        {0x7F7FFFFFu, 0x7F80, "FLT_MAX rounds to +inf"},
        {0x7F7F7FFFu, 0x7F7F, "just below overflow"},
        {0x7F800000u, 0x7F80, "+inf"},
        {0xFF800000u, 0xFF80, "-inf"},
        {0x80000000u, 0x8000, "-0"},
        {0x00000000u, 0x0000, "+0"},
        {0x00000001u, 0x0000, "smallest denormal to 0"},
        {0x00008000u, 0x0000, "denormal tie to even 0"},
        {0x00018000u, 0x0002, "denormal tie to even 2"},
        {0x007FFFFFu, 0x0080, "largest denormal rounds to smallest normal"},
        {0x7FC00000u, 0x7FC0, "quiet NaN"},
        {0xFFC00000u, 0xFFC0, "negative quiet NaN keeps sign"},
        {0x7F800001u, 0x7FC0, "NaN with payload only in low bits stays NaN"},
        {0x7FFFFFFFu, 0x7FFF, "NaN all ones"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint16_t got = mrpc_st_bf16_from_f32(bits_to_f32(cases[k].in));
        CHECK(got == cases[k].out, "%s: 0x%08X -> 0x%04X, want 0x%04X", cases[k].what, cases[k].in, got, cases[k].out);
    }
    CHECK(isnan(mrpc_st_bf16_to_f32(mrpc_st_bf16_from_f32(NAN))), "NaN survives a round trip");
    CHECK(mrpc_st_bf16_to_f32(0x3F80) == 1.0f, "bf16 1.0");
    CHECK(mrpc_st_bf16_to_f32(0xC040) == -3.0f, "bf16 -3.0");
    CHECK(f32_to_bits(mrpc_st_bf16_to_f32(0x8000)) == 0x80000000u, "bf16 -0");
    /* Every bf16 value converts to float and back unchanged (NaNs stay NaN). */
    int bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        float f = mrpc_st_bf16_to_f32((uint16_t)b);
        uint16_t back = mrpc_st_bf16_from_f32(f);
        if (isnan(f) ? !isnan(mrpc_st_bf16_to_f32(back)) : back != b) bad++;
    }
    CHECK(bad == 0, "%d bf16 values do not round-trip", bad);
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_round_trip(void) {
    enum { N_BIG = 100003 }; /* crosses the writer's and reader's chunk sizes */
    float a[6], b[4], s[1] = {-2.5f}, four[2 * 3 * 1 * 2];
    float *big = malloc(N_BIG * sizeof *big), *bigb = malloc(N_BIG * sizeof *bigb);
    fill(a, 6, 1.0f);
    fill(b, 4, 3.0f);
    fill(big, N_BIG, 0.5f);
    fill(bigb, N_BIG, -1.25f);
    fill(four, 12, 7.0f);
    b[3] = NAN;
    mrpc_st_write_item items[] = {
        {"layer.b", MRPC_ST_BF16, 1, {4}, b, NULL},
        {"layer.a", MRPC_ST_F32, 2, {2, 3}, a, NULL},
        {"scalar", MRPC_ST_F32, 0, {0}, s, NULL},
        {"zero", MRPC_ST_F32, 2, {0, 5}, NULL, NULL},
        {"zero.bf16", MRPC_ST_BF16, 2, {3, 0}, NULL, NULL},
        {"big", MRPC_ST_F32, 1, {N_BIG}, big, NULL},
        {"big.bf16", MRPC_ST_BF16, 1, {N_BIG}, bigb, NULL},
        {"four.d", MRPC_ST_F32, 4, {2, 3, 1, 2}, four, NULL},
    };
    size_t n_items = sizeof items / sizeof items[0];
    const char *meta[] = {"format", "pt", "note", "round trip \"quoted\" \xc3\xa9", NULL};
    char pb1[PATH_CAP];
    const char *path = tmp_path(pb1, "rt.safetensors");
    mrpc_error err = {0};
    CHECK_OK(mrpc_st_write(path, items, n_items, meta, &err), &err);

    /* Header length is a multiple of 8; the file contains no leftover temp files. */
    char *raw = NULL;
    size_t raw_size = 0;
    CHECK_OK(mrpc_file_read_all(path, 0, &raw, &raw_size, &err), &err);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)raw[i];
    CHECK(hlen % 8 == 0, "header length %llu is a multiple of 8", (unsigned long long)hlen);
    CHECK(raw[8] == '{', "header starts with {");
    size_t expect_data = 4 * (6 + 1 + N_BIG + 12) + 2 * (4 + N_BIG);
    CHECK(raw_size == 8 + hlen + expect_data, "file size %zu", raw_size);
    free(raw);
    DIR *d = opendir(mrpc_test_tmpdir());
    int leftovers = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) if (strstr(e->d_name, ".tmp.")) leftovers++;
    if (d) closedir(d);
    CHECK(leftovers == 0, "%d temp files left behind", leftovers);

    mrpc_st_file *f = NULL;
    if (!CHECK_OK(mrpc_st_open(path, &f, &err), &err)) { free(big); free(bigb); return; }
    CHECK(mrpc_st_count(f) == n_items, "count %zu", mrpc_st_count(f));
    /* File order: F32 tensors by name, then BF16 tensors by name. */
    const char *order[] = {"big", "four.d", "layer.a", "scalar", "zero", "big.bf16", "layer.b", "zero.bf16"};
    for (size_t i = 0; i < n_items; i++) {
        const mrpc_st_tensor *t = mrpc_st_at(f, i);
        CHECK(t && strcmp(t->name, order[i]) == 0, "tensor %zu is '%s', want '%s'", i, t ? t->name : "(null)", order[i]);
    }
    CHECK(mrpc_st_at(f, n_items) == NULL, "past the end");
    CHECK(strcmp(mrpc_st_metadata(f, "format"), "pt") == 0, "metadata format");
    CHECK(strcmp(mrpc_st_metadata(f, "note"), "round trip \"quoted\" \xc3\xa9") == 0, "metadata note");
    CHECK(mrpc_st_metadata(f, "absent") == NULL, "absent metadata key");

    const mrpc_st_tensor *t = mrpc_st_find(f, "layer.a");
    CHECK(t && t->dtype == MRPC_ST_F32 && t->n_dims == 2 && t->shape[0] == 2 && t->shape[1] == 3, "layer.a header");
    CHECK(mrpc_st_find(f, "nope") == NULL, "find absent");

    float got[6];
    int64_t sh_a[2] = {2, 3};
    CHECK_OK(mrpc_st_read_f32(f, "layer.a", sh_a, 2, got, &err), &err);
    CHECK(memcmp(got, a, sizeof a) == 0, "layer.a values");

    float gotb[4];
    int64_t sh_b[1] = {4};
    CHECK_OK(mrpc_st_read_f32(f, "layer.b", sh_b, 1, gotb, &err), &err);
    for (int i = 0; i < 3; i++) {
        float want = mrpc_st_bf16_to_f32(mrpc_st_bf16_from_f32(b[i]));
        CHECK(gotb[i] == want, "layer.b[%d] %g want %g", i, gotb[i], want);
        CHECK(fabsf(gotb[i] - b[i]) <= fabsf(b[i]) * (1.0f / 256.0f), "bf16 error bound at %d", i);
    }
    CHECK(isnan(gotb[3]), "NaN preserved through BF16");

    float sc = 0;
    CHECK_OK(mrpc_st_read_f32(f, "scalar", NULL, 0, &sc, &err), &err);
    CHECK(sc == -2.5f, "scalar %g", sc);
    int64_t sh_z[2] = {0, 5}, sh_zb[2] = {3, 0};
    CHECK_OK(mrpc_st_read_f32(f, "zero", sh_z, 2, NULL, &err), &err);
    CHECK_OK(mrpc_st_read_f32(f, "zero.bf16", sh_zb, 2, NULL, &err), &err);

    float *gbig = malloc(N_BIG * sizeof *gbig);
    int64_t sh_big[1] = {N_BIG};
    CHECK_OK(mrpc_st_read_f32(f, "big", sh_big, 1, gbig, &err), &err);
    CHECK(memcmp(gbig, big, N_BIG * sizeof *big) == 0, "big values");
    CHECK_OK(mrpc_st_read_f32(f, "big.bf16", sh_big, 1, gbig, &err), &err);
    int bad = 0;
    for (size_t i = 0; i < N_BIG; i++) if (gbig[i] != mrpc_st_bf16_to_f32(mrpc_st_bf16_from_f32(bigb[i]))) bad++;
    CHECK(bad == 0, "big.bf16: %d values differ", bad);
    free(gbig);
    free(big);
    free(bigb);

    float g4[12];
    int64_t sh4[4] = {2, 3, 1, 2};
    CHECK_OK(mrpc_st_read_f32(f, "four.d", sh4, 4, g4, &err), &err);
    CHECK(memcmp(g4, four, sizeof four) == 0, "four.d values");

    /* read_f32 errors name the file and the tensor. */
    mrpc_error e = {0};
    CHECK(mrpc_st_read_f32(f, "missing", sh_a, 2, got, &e) == MRPC_ERR_INVALID, "missing tensor");
    CHECK(strcmp(e.file, path) == 0 && strcmp(e.field, "missing") == 0, "missing: %s / %s", e.file, e.field);
    int64_t wrong[2] = {3, 2};
    memset(&e, 0, sizeof e);
    CHECK(mrpc_st_read_f32(f, "layer.a", wrong, 2, got, &e) == MRPC_ERR_INVALID, "wrong shape");
    CHECK(strcmp(e.field, "layer.a") == 0 && strstr(e.message, "[2, 3]") && strstr(e.message, "[3, 2]"),
          "wrong shape message: %s", e.message);
    memset(&e, 0, sizeof e);
    CHECK(mrpc_st_read_f32(f, "layer.a", sh_a, 1, got, &e) == MRPC_ERR_INVALID, "wrong rank");
    memset(&e, 0, sizeof e);
    CHECK(mrpc_st_read_f32(f, "scalar", sh_b, 1, got, &e) == MRPC_ERR_INVALID, "scalar read as [4]");
    mrpc_st_close(f);
    mrpc_st_close(NULL);
    CHECK(mrpc_st_count(NULL) == 0 && mrpc_st_find(NULL, "a") == NULL && mrpc_st_metadata(NULL, "a") == NULL, "NULL handle");

    /* Without metadata: no __metadata__ key at all. */
    char pb2[PATH_CAP];
    const char *path2 = tmp_path(pb2, "nometa.safetensors");
    CHECK_OK(mrpc_st_write(path2, items, 2, NULL, &err), &err);
    CHECK_OK(mrpc_st_open(path2, &f, &err), &err);
    CHECK(mrpc_st_metadata(f, "format") == NULL, "no metadata");
    mrpc_st_close(f);
}

typedef struct ref_case {
    const char               *file;
    mrpc_st_write_item        item;
    size_t                    n;
    const char *const        *meta;
    const unsigned char      *want;
    size_t                    want_size;
} ref_case;

/* The reference implementation's own serialization test vectors, byte for byte. */
static void test_reference_bytes(void) {
    static const unsigned char want_attn[] = {
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
        116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
        58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
        101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
        0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
    static const unsigned char want_empty[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
    static const unsigned char want_meta[] = {
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
        95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
        116, 34, 125, 125, 32, 32, 32, 32, 32};
    static const unsigned char want_align[] = {
        72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
        121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
        91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
        115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
        32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
        160, 64};
    const float data[6] = {0, 1, 2, 3, 4, 5};
    mrpc_error err = {0};
    static const char *const framework[] = {"framework", "pt", NULL};
    const ref_case cases[4] = {
        {"ref_attn.st", {"attn.0", MRPC_ST_F32, 3, {1, 2, 3}, data, NULL}, 1, NULL, want_attn, sizeof want_attn},
        {"ref_empty.st", {0}, 0, NULL, want_empty, sizeof want_empty},
        {"ref_meta.st", {0}, 0, framework, want_meta, sizeof want_meta},
        {"ref_align.st", {"attn0", MRPC_ST_F32, 4, {1, 1, 2, 3}, data, NULL}, 1, NULL, want_align, sizeof want_align},
    };
    for (int k = 0; k < 4; k++) {
        char pb3[PATH_CAP];
    const char *path = tmp_path(pb3, cases[k].file);
        CHECK_OK(mrpc_st_write(path, &cases[k].item, cases[k].n, cases[k].meta, &err), &err);
        char *raw = NULL;
        size_t n = 0;
        CHECK_OK(mrpc_file_read_all(path, 0, &raw, &n, &err), &err);
        CHECK(raw && n == cases[k].want_size && memcmp(raw, cases[k].want, n) == 0, "%s: bytes differ from the reference",
              cases[k].file);
        free(raw);
        mrpc_st_file *f = NULL;
        CHECK_OK(mrpc_st_open(path, &f, &err), &err);
        mrpc_st_close(f);
    }
}

/* safetensors <= 0.3.0 wrote `extra = len % 8` spaces, so data may start at any offset. */
static void test_unaligned(void) {
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                      "\"h\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]}}";
    size_t h = strlen(hdr);
    for (size_t pad = 0; pad < 8; pad++) {
        size_t hlen = h + pad;
        size_t size = 8 + hlen + 16;
        unsigned char *buf = malloc(size + 1);
        unsigned char *img = buf + (pad & 1); /* also misalign the image itself */
        for (int i = 0; i < 8; i++) img[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
        memcpy(img + 8, hdr, h);
        memset(img + 8 + h, ' ', pad);
        float w[3] = {1.5f, -2.25f, 1e-3f};
        for (int i = 0; i < 3; i++) {
            uint32_t v = f32_to_bits(w[i]);
            for (int k = 0; k < 4; k++) img[8 + hlen + 4 * i + k] = (unsigned char)(v >> (8 * k));
        }
        uint16_t hb[2] = {0x3F80, 0xC040}; /* 1.0, -3.0 */
        for (int i = 0; i < 2; i++) {
            img[8 + hlen + 12 + 2 * i] = (unsigned char)hb[i];
            img[8 + hlen + 13 + 2 * i] = (unsigned char)(hb[i] >> 8);
        }
        char name[64];
        snprintf(name, sizeof name, "unaligned_%zu.safetensors", pad);
        char pb4[PATH_CAP];
    const char *path = tmp_path(pb4, name);
        write_bytes(path, img, size);
        for (int from_file = 0; from_file < 2; from_file++) {
            mrpc_error err = {0};
            mrpc_st_file *f = NULL;
            mrpc_status s = from_file ? mrpc_st_open(path, &f, &err) : mrpc_st_open_memory(name, img, size, &f, &err);
            if (!CHECK_OK(s, &err)) continue;
            float got[3] = {0}, goth[2] = {0};
            int64_t s3 = 3, s2 = 2;
            CHECK_OK(mrpc_st_read_f32(f, "w", &s3, 1, got, &err), &err);
            CHECK_OK(mrpc_st_read_f32(f, "h", &s2, 1, goth, &err), &err);
            CHECK(memcmp(got, w, sizeof w) == 0, "pad %zu file %d: F32 values %g %g %g", pad, from_file, got[0], got[1],
                  got[2]);
            CHECK(goth[0] == 1.0f && goth[1] == -3.0f, "pad %zu: BF16 values %g %g", pad, goth[0], goth[1]);
            /* file order follows the offsets, not the header order */
            CHECK(strcmp(mrpc_st_at(f, 0)->name, "w") == 0 && strcmp(mrpc_st_at(f, 1)->name, "h") == 0, "offset order");
            mrpc_st_close(f);
        }
        free(buf);
    }
}

/* Other dtypes are recognised (sizes checked) but cannot be read as float. */
static void test_other_dtypes(void) {
    const char *hdr = "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[8,11]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[11,13]},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[13,21]},"
                      "\"u\":{\"dtype\":\"U64\",\"shape\":[],\"data_offsets\":[21,29]},"
                      "\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,1],\"data_offsets\":[29,31]},"
                      "\"m\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[31,31]},"
                      "\"__metadata__\":{}}";
    image im = make_image(hdr, 31);
    mrpc_error err = {0};
    mrpc_st_file *f = NULL;
    if (CHECK_OK(mrpc_st_open_memory("dtypes", im.bytes, im.size, &f, &err), &err)) {
        CHECK(mrpc_st_count(f) == 7, "7 tensors");
        const mrpc_st_tensor *t = mrpc_st_find(f, "e");
        CHECK(t && t->dtype == MRPC_ST_F8_E4M3 && t->begin == 29 && t->end == 31, "F8 entry");
        int64_t two = 2;
        float out[2];
        mrpc_error e = {0};
        CHECK(mrpc_st_read_f32(f, "i", &two, 1, out, &e) == MRPC_ERR_UNSUPPORTED, "I32 not readable as float");
        CHECK(strcmp(e.field, "i") == 0 && strcmp(e.file, "dtypes") == 0, "names tensor and file");
        /* the zero-sized tensor at the very end sorts after "e" */
        CHECK(strcmp(mrpc_st_at(f, 6)->name, "m") == 0, "zero-size last");
        mrpc_st_close(f);
    }
    free(im.bytes);
    for (int d = 0; d < MRPC_ST_DTYPE_COUNT; d++) {
        CHECK(mrpc_st_dtype_size((mrpc_st_dtype)d) > 0 && strcmp(mrpc_st_dtype_name((mrpc_st_dtype)d), "?") != 0,
              "dtype %d has a name and size", d);
    }
    CHECK(mrpc_st_dtype_size(MRPC_ST_DTYPE_COUNT) == 0 && strcmp(mrpc_st_dtype_name((mrpc_st_dtype)-1), "?") == 0,
          "out-of-range dtype");
}

/* ---- malformed input ------------------------------------------------------------- */

#define ENTRY(name, dtype, shape, b, e) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_truncation(void) {
    float v[5] = {1, 2, 3, 4, 5};
    mrpc_st_write_item items[] = {{"w", MRPC_ST_F32, 1, {5}, v, NULL}, {"x", MRPC_ST_BF16, 1, {3}, v, NULL}};
    const char *meta[] = {"format", "pt", NULL};
    char pb5[PATH_CAP];
    const char *path = tmp_path(pb5, "whole.safetensors");
    mrpc_error err = {0};
    CHECK_OK(mrpc_st_write(path, items, 2, meta, &err), &err);
    char *raw = NULL;
    size_t n = 0;
    CHECK_OK(mrpc_file_read_all(path, 0, &raw, &n, &err), &err);
    uint64_t hlen = (unsigned char)raw[0] | ((uint64_t)(unsigned char)raw[1] << 8);
    size_t cuts[] = {0, 1, 4, 7, 8, 9, 8 + hlen / 2, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1, 8 + hlen + 20, n - 2, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu", cuts[k], n);
        image im = {malloc(cuts[k] + 1), cuts[k]};
        memcpy(im.bytes, raw, cuts[k]);
        expect_bad_image(what, im, NULL);
    }
    /* One byte too many is also an error (the buffer must be covered exactly). */
    image extra = {malloc(n + 1), n + 1};
    memcpy(extra.bytes, raw, n);
    extra.bytes[n] = 0;
    expect_bad_image("one trailing byte", extra, "x");
    free(raw);
}

static void test_malformed(void) {
    /* header length vs file size and the limit */
    expect_bad_image("header length larger than the file", make_image_len(1000, "{}", 6, 0), "");
    expect_bad_image("header length over the 100 MB limit", make_image_len(100000001, "{}", 6, 0), "");
    expect_bad_image("header length 2^64-1", make_image_len(UINT64_MAX, "{}", 6, 0), "");
    expect_bad_image("header length 2^63", make_image_len(1ull << 63, "{}", 6, 0), "");
    expect_bad_image("header length 0", make_image_len(0, "", 0, 8), "");
    expect_bad_image("header length 9 (too long by one)", make_image_len(9, "{}", 6, 1), NULL);

    /* JSON syntax */
    expect_bad("invalid JSON: unterminated", "{\"a\":", 0, "");
    expect_bad("invalid JSON: trailing garbage", "{} x", 0, "");
    expect_bad("invalid JSON: trailing comma", "{" ENTRY("a", "F32", "[1]", 0, 4) ",}", 4, "");
    expect_bad("invalid JSON: leading space", " {}", 0, "");
    expect_bad("JSON array, not object", "[1,2]", 0, "");
    expect_bad("JSON string, not object", "\"x\"", 0, "");
    expect_bad("single quotes", "{'a':1}", 0, "");
    expect_bad("invalid UTF-8 in a key", "{\"\xff\xfe\":{}}", 0, "");
    expect_bad("\\u0000 in a name", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "");
    {
        /* NUL padding instead of spaces */
        const char *h = "{}";
        image im = make_image_len(8, h, 6, 0);
        memset(im.bytes + 10, 0, 6);
        expect_bad_image("NUL padding", im, "");
    }
    expect_bad("duplicate tensor names", "{" ENTRY("w", "F32", "[1]", 0, 4) "," ENTRY("w", "F32", "[1]", 4, 8) "}", 8, "w");
    expect_bad("duplicate via escape", "{" ENTRY("w", "F32", "[1]", 0, 4) ",\"\\u0077\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, NULL);
    expect_bad("duplicate key inside an entry", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, NULL);

    /* offsets */
    expect_bad("lying header: offsets past the end", "{" ENTRY("w", "F32", "[4]", 0, 16) "}", 8, "w");
    expect_bad("lying header: huge end", "{" ENTRY("w", "F32", "[4]", 0, 9223372036854775807) "}", 16, "w");
    expect_bad("overlapping offsets", "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 4, 12) "}", 12, "b");
    expect_bad("identical offsets", "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 0, 8) "}", 8, "b");
    expect_bad("zero-size tensor inside another", "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("z", "F32", "[0]", 4, 4) "}", 8, "z");
    expect_bad("gap in the buffer", "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 12, 20) "}", 20, "b");
    expect_bad("gap at the start", "{" ENTRY("a", "F32", "[2]", 4, 12) "}", 12, "a");
    expect_bad("uncovered bytes at the end", "{" ENTRY("a", "F32", "[2]", 0, 8) "}", 12, "a");
    expect_bad("data but no tensors", "{}", 8, "");
    expect_bad("begin after end", "{" ENTRY("a", "F32", "[0]", 8, 0) "}", 8, "a");
    expect_bad("size mismatch: shape bigger than offsets", "{" ENTRY("a", "F32", "[3]", 0, 8) "}", 8, "a");
    expect_bad("size mismatch: BF16 counted as 4 bytes", "{" ENTRY("a", "BF16", "[2]", 0, 8) "}", 8, "a");
    expect_bad("size mismatch: scalar with no bytes", "{" ENTRY("a", "F32", "[]", 0, 0) "}", 0, "a");
    expect_bad("size mismatch: zero dim with bytes", "{" ENTRY("a", "F32", "[0,2]", 0, 8) "}", 8, "a");

    /* shapes and huge values */
    expect_bad("shape product overflow", "{" ENTRY("a", "F32", "[4294967296,4294967296]", 0, 0) "}", 0, "a");
    expect_bad("shape bytes overflow", "{" ENTRY("a", "F32", "[4611686018427387904]", 0, 0) "}", 0, "a");
    expect_bad("shape 2^63-1 x 2", "{" ENTRY("a", "BF16", "[9223372036854775807,2]", 0, 0) "}", 0, "a");
    expect_bad("shape too big for JSON integers", "{" ENTRY("a", "F32", "[99999999999999999999]", 0, 0) "}", 0, "");
    expect_bad("offset too big for JSON integers", "{" ENTRY("a", "F32", "[1]", 0, 18446744073709551616) "}", 4, "");
    expect_bad("negative dim", "{" ENTRY("a", "F32", "[-1]", 0, 0) "}", 0, "a");
    expect_bad("negative offset", "{" ENTRY("a", "F32", "[1]", -4, 0) "}", 0, "a");
    expect_bad("real dim", "{" ENTRY("a", "F32", "[1.0]", 0, 4) "}", 4, "a");
    expect_bad("exponent dim", "{" ENTRY("a", "F32", "[1e30]", 0, 4) "}", 4, "a");
    expect_bad("9 dims", "{" ENTRY("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "a");
    CHECK(expect_good("8 dims", "{" ENTRY("a", "F32", "[1,1,1,1,1,1,1,1]", 0, 4) "}", 4), "8 dims accepted");
    CHECK(expect_good("zero dim beside huge dims", "{" ENTRY("a", "F32", "[0,4611686018427387904,4611686018427387904]", 0, 0) "}", 0),
          "zero product accepted");
    CHECK(expect_good("trailing whitespace", "{" ENTRY("a", "F32", "[1]", 0, 4) "}  \n\t ", 4), "whitespace accepted");
    CHECK(expect_good("zero-size tensors share an offset", "{" ENTRY("z1", "F32", "[0]", 4, 4) "," ENTRY("a", "F32", "[1]", 0, 4) "," ENTRY("z2", "BF16", "[0,3]", 4, 4) "}", 4),
          "zero-size tensors accepted");
    CHECK(expect_good("unknown keys in an entry are ignored", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":[1]}}", 4),
          "extra entry keys ignored");

    /* dtypes */
    expect_bad("unknown dtype", "{" ENTRY("a", "F128", "[1]", 0, 16) "}", 16, "a");
    expect_bad("lowercase dtype", "{" ENTRY("a", "f32", "[1]", 0, 4) "}", 4, "a");
    expect_bad("dtype number", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("dtype null", "{\"a\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a");

    /* wrong types and missing keys in entries */
    expect_bad("entry is an array", "{\"a\":[1,2]}", 0, "a");
    expect_bad("entry is a string", "{\"a\":\"F32\"}", 0, "a");
    expect_bad("entry is null", "{\"a\":null}", 0, "a");
    expect_bad("shape is a string", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"[1]\",\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("shape is a number", "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("shape holds a bool", "{\"a\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("shape holds a string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("offsets one value", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4, "a");
    expect_bad("offsets three values", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "a");
    expect_bad("offsets a string", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0,4\"}}", 4, "a");
    expect_bad("offsets a real", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4, "a");
    expect_bad("offsets an object", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"0\":4}}}", 4, "a");
    expect_bad("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "a");
    expect_bad("missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "a");
    expect_bad("old key name 'offsets'", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"offsets\":[0,4]}}", 4, "a");

    /* __metadata__ */
    expect_bad("metadata is an array", "{\"__metadata__\":[\"pt\"]}", 0, "__metadata__");
    expect_bad("metadata is a string", "{\"__metadata__\":\"pt\"}", 0, "__metadata__");
    expect_bad("metadata is null", "{\"__metadata__\":null}", 0, "__metadata__");
    expect_bad("metadata value is a number", "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3}}", 0, "__metadata__");
    expect_bad("metadata value is null", "{\"__metadata__\":{\"format\":null}}", 0, "__metadata__");
    expect_bad("metadata value is an object", "{\"__metadata__\":{\"format\":{\"a\":\"b\"}}}", 0, "__metadata__");
    expect_bad("duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__");
    CHECK(expect_good("metadata after tensors", "{" ENTRY("a", "F32", "[1]", 0, 4) ",\"__metadata__\":{\"format\":\"pt\"}}", 4),
          "metadata anywhere in the object");

    /* too many tensors: MRPC_ST_MAX_TENSORS + 1 zero-sized entries */
    {
        size_t n = MRPC_ST_MAX_TENSORS + 1, cap = n * 64 + 16, len = 0;
        char *h = malloc(cap);
        len += (size_t)snprintf(h, cap, "{");
        for (size_t i = 0; i < n; i++) {
            len += (size_t)snprintf(h + len, cap - len, "%s\"t%zu\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                    i ? "," : "", i);
        }
        snprintf(h + len, cap - len, "}");
        expect_bad("too many tensors", h, 0, "");
        free(h);
    }

    /* files that are not there or not files */
    mrpc_error err = {0};
    mrpc_st_file *f = NULL;
    char pb6[PATH_CAP];
    const char *missing = tmp_path(pb6, "does-not-exist.safetensors");
    CHECK(mrpc_st_open(missing, &f, &err) == MRPC_ERR_IO && f == NULL, "missing file");
    CHECK(strcmp(err.file, missing) == 0, "missing file named: %s", err.file);
    CHECK(mrpc_st_open(mrpc_test_tmpdir(), &f, &err) == MRPC_ERR_IO && f == NULL, "a directory");
    CHECK(mrpc_st_open_memory("null", NULL, 16, &f, &err) != MRPC_OK && f == NULL, "NULL data");
}

/* ---- writer errors ---------------------------------------------------------------- */

static void expect_write_error(const char *what, const mrpc_st_write_item *items, size_t n, const char *const *meta,
                               const char *field) {
    char pb7[PATH_CAP];
    const char *path = tmp_path(pb7, "writer-target.safetensors");
    mrpc_error err = {0};
    mrpc_status s = mrpc_st_write(path, items, n, meta, &err);
    CHECK(s != MRPC_OK, "%s: accepted", what);
    CHECK(strcmp(err.file, path) == 0, "%s: err.file '%s'", what, err.file);
    if (field) CHECK(strcmp(err.field, field) == 0, "%s: err.field '%s' (%s)", what, err.field, err.message);
    /* the previous good file is untouched */
    mrpc_st_file *f = NULL;
    CHECK_OK(mrpc_st_open(path, &f, &err), &err);
    CHECK(mrpc_st_count(f) == 1 && mrpc_st_find(f, "keep"), "%s: old file replaced", what);
    mrpc_st_close(f);
}

static void test_writer_errors(void) {
    float v[4] = {1, 2, 3, 4};
    mrpc_error err = {0};
    mrpc_st_write_item keep = {"keep", MRPC_ST_F32, 1, {4}, v, NULL};
    char pb8[PATH_CAP];
    CHECK_OK(mrpc_st_write(tmp_path(pb8, "writer-target.safetensors"), &keep, 1, NULL, &err), &err);

    mrpc_st_write_item dup[] = {{"w", MRPC_ST_F32, 1, {4}, v, NULL}, {"a", MRPC_ST_F32, 1, {1}, v, NULL}, {"w", MRPC_ST_F32, 1, {2}, v, NULL}};
    expect_write_error("duplicate names", dup, 3, NULL, "w");
    mrpc_st_write_item dup2[] = {{"w", MRPC_ST_F32, 1, {4}, v, NULL}, {"w", MRPC_ST_BF16, 1, {4}, v, NULL}};
    expect_write_error("duplicate names across dtypes", dup2, 2, NULL, "w");
    mrpc_st_write_item reserved = {"__metadata__", MRPC_ST_F32, 1, {1}, v, NULL};
    expect_write_error("reserved name", &reserved, 1, NULL, "__metadata__");
    mrpc_st_write_item nobytes = {"b", MRPC_ST_U8, 1, {4}, NULL, NULL};
    expect_write_error("U8 without bytes", &nobytes, 1, NULL, "b");
    mrpc_st_write_item f16 = {"h", MRPC_ST_F16, 1, {1}, v, NULL};
    expect_write_error("F16 not writable", &f16, 1, NULL, "h");
    mrpc_st_write_item neg = {"n", MRPC_ST_F32, 2, {2, -1}, v, NULL};
    expect_write_error("negative dim", &neg, 1, NULL, "n");
    mrpc_st_write_item dims = {"d", MRPC_ST_F32, MRPC_ST_MAX_DIMS + 1, {1}, v, NULL};
    expect_write_error("too many dims", &dims, 1, NULL, "d");
    mrpc_st_write_item nodata = {"x", MRPC_ST_F32, 1, {4}, NULL, NULL};
    expect_write_error("NULL data", &nodata, 1, NULL, "x");
    mrpc_st_write_item huge = {"big", MRPC_ST_F32, 2, {INT64_MAX, 4}, v, NULL};
    expect_write_error("overflowing shape", &huge, 1, NULL, "big");
    mrpc_st_write_item noname = {NULL, MRPC_ST_F32, 1, {1}, v, NULL};
    expect_write_error("no name", &noname, 1, NULL, "");
    mrpc_st_write_item badutf = {"bad\xff", MRPC_ST_F32, 1, {1}, v, NULL};
    expect_write_error("invalid UTF-8 name", &badutf, 1, NULL, NULL);
    mrpc_st_write_item ok1 = {"ok", MRPC_ST_F32, 1, {1}, v, NULL};
    const char *meta_noval[] = {"format", NULL, NULL};
    /* {"format", NULL} ends the list at the value: the key has no value */
    expect_write_error("metadata key without value", &ok1, 1, meta_noval, "__metadata__");
    const char *meta_dup[] = {"format", "pt", "format", "np", NULL};
    expect_write_error("duplicate metadata key", &ok1, 1, meta_dup, "__metadata__");
    const char *meta_bad[] = {"format", "\xc3", NULL};
    expect_write_error("metadata value not UTF-8", &ok1, 1, meta_bad, "__metadata__");

    /* a directory that does not exist: IO error, nothing left behind */
    char path[1100];
    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", mrpc_test_tmpdir());
    CHECK(mrpc_st_write(path, &ok1, 1, NULL, &err) == MRPC_ERR_IO, "missing directory is an IO error");
    CHECK(!mrpc_path_exists(path), "nothing written");

    /* rename onto a directory fails: IO error, the temp file is removed */
    char dirp[PATH_CAP];
    snprintf(dirp, sizeof dirp, "%s/a-directory", mrpc_test_tmpdir());
    CHECK_OK(mrpc_mkdir_p(dirp, &err), &err);
    mrpc_error e = {0};
    CHECK(mrpc_st_write(dirp, &ok1, 1, NULL, &e) == MRPC_ERR_IO && strcmp(e.file, dirp) == 0, "rename onto a directory");
    DIR *d = opendir(mrpc_test_tmpdir());
    int leftovers = 0;
    for (struct dirent *ent; d && (ent = readdir(d)) != NULL;) if (strstr(ent->d_name, ".tmp.")) leftovers++;
    if (d) closedir(d);
    CHECK(leftovers == 0, "%d temp files left after a failed write", leftovers);

    /* an empty file (no tensors, no metadata) is valid */
    char pb9[PATH_CAP];
    const char *empty = tmp_path(pb9, "empty.safetensors");
    CHECK_OK(mrpc_st_write(empty, NULL, 0, NULL, &err), &err);
    mrpc_st_file *f = NULL;
    CHECK_OK(mrpc_st_open(empty, &f, &err), &err);
    CHECK(mrpc_st_count(f) == 0 && mrpc_st_find(f, "x") == NULL, "empty file");
    mrpc_st_close(f);
}

/* A file that shrinks after it was opened: reading is an IO error, not a crash. */
static void test_truncated_while_open(void) {
    float v[64];
    fill(v, 64, 1.0f);
    mrpc_st_write_item item = {"w", MRPC_ST_F32, 1, {64}, v, NULL};
    char pb[PATH_CAP];
    const char *path = tmp_path(pb, "shrinks.safetensors");
    mrpc_error err = {0};
    CHECK_OK(mrpc_st_write(path, &item, 1, NULL, &err), &err);
    mrpc_st_file *f = NULL;
    if (!CHECK_OK(mrpc_st_open(path, &f, &err), &err)) return;
    CHECK(truncate(path, 100) == 0, "truncate");
    float got[64];
    int64_t n = 64;
    mrpc_error e = {0};
    CHECK(mrpc_st_read_f32(f, "w", &n, 1, got, &e) == MRPC_ERR_IO, "read after truncation");
    CHECK(strcmp(e.file, path) == 0 && strcmp(e.field, "w") == 0, "names file and tensor: %s %s", e.file, e.field);
    mrpc_st_close(f);
}

/* U8 blobs (the run record inside a resume checkpoint) round-trip byte for byte beside F32 tensors. */
static void test_bytes(void) {
    unsigned char blob[70001];
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (unsigned char)(i * 131u + (i >> 8));
    float v[3] = {1.5f, -2.0f, 3.25f};
    mrpc_st_write_item items[3] = {{"weights", MRPC_ST_F32, 1, {3}, v, NULL},
                                   {"record", MRPC_ST_U8, 1, {(int64_t)sizeof blob}, NULL, blob},
                                   {"empty", MRPC_ST_U8, 1, {0}, NULL, NULL}};
    char pb[PATH_CAP];
    const char *path = tmp_path(pb, "bytes.safetensors");
    mrpc_error err = {0};
    CHECK_OK(mrpc_st_write(path, items, 3, NULL, &err), &err);
    mrpc_st_file *f = NULL;
    if (!CHECK_OK(mrpc_st_open(path, &f, &err), &err)) return;
    unsigned char *got = NULL;
    size_t n = 0;
    CHECK_OK(mrpc_st_read_bytes(f, "record", &got, &n, &err), &err);
    CHECK(got && n == sizeof blob && memcmp(got, blob, n) == 0, "U8 blob read back byte for byte (%zu bytes)", n);
    free(got);
    CHECK_OK(mrpc_st_read_bytes(f, "empty", &got, &n, &err), &err);
    CHECK(got && n == 0, "empty U8 tensor");
    free(got);
    float w[3];
    int64_t shape = 3;
    CHECK_OK(mrpc_st_read_f32(f, "weights", &shape, 1, w, &err), &err);
    CHECK(w[0] == 1.5f && w[1] == -2.0f && w[2] == 3.25f, "F32 beside it intact");
    CHECK(mrpc_st_read_bytes(f, "weights", &got, &n, &err) == MRPC_ERR_UNSUPPORTED && got == NULL &&
              strcmp(err.field, "weights") == 0,
          "an F32 tensor is not read as bytes");
    CHECK(mrpc_st_read_bytes(f, "nope", &got, &n, &err) == MRPC_ERR_INVALID, "missing tensor named");
    mrpc_st_close(f);
}

int main(void) {
    test_bf16_rounding();
    test_bytes();
    test_round_trip();
    test_reference_bytes();
    test_unaligned();
    test_other_dtypes();
    test_truncation();
    test_malformed();
    test_writer_errors();
    test_truncated_while_open();
    return mrpc_test_report();
}
