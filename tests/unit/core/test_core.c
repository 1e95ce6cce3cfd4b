/* test_core.c — status records, strict parsing, random streams, atomic files, safe names. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "philox.h"
#include "rng.h"
#include "status.h"
#include "strutil.h"
#include "testutil.h"

static void test_error_format(void) {
    mrpc_error err = {0};
    mrpc_status s = mrpc_error_set(&err, MRPC_ERR_INVALID, "run.yaml", 12, 5, "learning_rate", "must be > 0, got %g", -1.0);
    CHECK(s == MRPC_ERR_INVALID, "set returns the status");
    char buf[256];
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(strcmp(buf, "run.yaml:12:5: learning_rate: must be > 0, got -1") == 0, "formatted: '%s'", buf);
    mrpc_error_prefix(&err, "loading %s: ", "config");
    mrpc_error_format(&err, buf, sizeof buf);
    CHECK(strcmp(buf, "run.yaml:12:5: learning_rate: loading config: must be > 0, got -1") == 0, "prefixed: '%s'", buf);
    mrpc_error bare = {0};
    mrpc_error_set(&bare, MRPC_ERR_IO, NULL, 0, 0, NULL, "disk full");
    mrpc_error_format(&bare, buf, sizeof buf);
    CHECK(strcmp(buf, "disk full") == 0, "no location: '%s'", buf);
    CHECK(strcmp(mrpc_status_str(MRPC_ERR_PARSE), "parse error") == 0, "status name");
    CHECK(strcmp(mrpc_status_str((mrpc_status)999), "unknown status") == 0, "unknown status name");
}

static void test_parsing(void) {
    int64_t i = 0;
    double d = 0;
    int b = -1;
    CHECK(mrpc_parse_i64("42", &i) && i == 42, "42");
    CHECK(mrpc_parse_i64("-7", &i) && i == -7, "-7");
    CHECK(!mrpc_parse_i64("12abc", &i), "trailing garbage rejected");
    CHECK(!mrpc_parse_i64("", &i), "empty rejected");
    CHECK(!mrpc_parse_i64(" 1", &i), "leading space rejected");
    CHECK(!mrpc_parse_i64("99999999999999999999", &i), "overflow rejected");
    CHECK(mrpc_parse_f64("1e-5", &d) && d == 1e-5, "1e-5");
    CHECK(mrpc_parse_f64("3", &d) && d == 3.0, "3");
    CHECK(!mrpc_parse_f64("nan", &d), "nan rejected");
    CHECK(!mrpc_parse_f64("inf", &d), "inf rejected");
    CHECK(!mrpc_parse_f64("1e999", &d), "overflow rejected");
    CHECK(!mrpc_parse_f64("0.1x", &d), "garbage rejected");
    CHECK(mrpc_parse_bool("Yes", &b) && b == 1, "Yes");
    CHECK(mrpc_parse_bool("off", &b) && b == 0, "off");
    CHECK(!mrpc_parse_bool("maybe", &b), "maybe rejected");
    char buf[8];
    CHECK(mrpc_str_copy(buf, sizeof buf, "1234567") == 1 && strcmp(buf, "1234567") == 0, "fits");
    CHECK(mrpc_str_copy(buf, sizeof buf, "12345678") == 0 && strcmp(buf, "1234567") == 0, "truncated");
    char num[64];
    double vals[] = {0.1, 5e-5, 1.0 / 3.0, 1e-8, 123456789.0};
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        mrpc_format_f64(num, sizeof num, vals[k]);
        CHECK(strtod(num, NULL) == vals[k], "round trip of %s", num);
    }
    mrpc_format_f64(num, sizeof num, 0.1);
    CHECK(strcmp(num, "0.1") == 0, "shortest form of 0.1: %s", num);
}

static void test_philox(void) {
    /* Known-answer test from the Random123 distribution (kat_vectors, philox4x32 10 rounds). */
    uint32_t ctr0[4] = {0, 0, 0, 0}, key0[2] = {0, 0}, out[4];
    mrpc_philox4x32(ctr0, key0, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u,
          "philox(0,0) = %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    uint32_t ctr1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, key1[2] = {0xffffffffu, 0xffffffffu};
    mrpc_philox4x32(ctr1, key1, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu,
          "philox(ff,ff) = %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    uint32_t ctr2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, key2[2] = {0xa4093822u, 0x299f31d0u};
    mrpc_philox4x32(ctr2, key2, out);
    CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u && out[3] == 0x24126ea1u,
          "philox(pi) = %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    /* The uniform lane view agrees with the block view. */
    uint32_t key[2] = {42u, 0u}, ctr[4] = {1u, 7u, 3u, 2u};
    mrpc_philox4x32(ctr, key, out);
    CHECK(mrpc_philox_uniform_at(42, 1, 7, 3, 9) == mrpc_philox_uniform(out[1]), "lane 1 of block 2");
}

static void test_rng(void) {
    mrpc_rng a, b;
    mrpc_rng_init(&a, 42, MRPC_RNG_SHUFFLE, 0);
    mrpc_rng_init(&b, 42, MRPC_RNG_SHUFFLE, 0);
    int same = 1;
    for (int k = 0; k < 100; k++) same &= mrpc_rng_u32(&a) == mrpc_rng_u32(&b);
    CHECK(same, "same seed, same stream");
    mrpc_rng_init(&b, 42, MRPC_RNG_SHUFFLE, 1);
    mrpc_rng_init(&a, 42, MRPC_RNG_SHUFFLE, 0);
    CHECK(mrpc_rng_u64(&a) != mrpc_rng_u64(&b), "substreams differ");
    /* Saving and restoring the struct continues the stream exactly. */
    mrpc_rng_init(&a, 7, MRPC_RNG_INIT, 0);
    for (int k = 0; k < 13; k++) mrpc_rng_u32(&a);
    mrpc_rng saved = a;
    uint32_t x = mrpc_rng_u32(&a);
    CHECK(mrpc_rng_u32(&saved) == x, "resume from a copy");
    /* Moments of uniform and normal draws. */
    mrpc_rng_init(&a, 1, MRPC_RNG_TEST, 0);
    double su = 0, sn = 0, sn2 = 0;
    const int n = 200000;
    for (int k = 0; k < n; k++) {
        double u = mrpc_rng_uniform(&a);
        CHECK(u >= 0.0 && u < 1.0, "uniform in range");
        su += u;
        double z = mrpc_rng_normal(&a);
        sn += z;
        sn2 += z * z;
    }
    CHECK(fabs(su / n - 0.5) < 0.005, "uniform mean %g", su / n);
    CHECK(fabs(sn / n) < 0.01, "normal mean %g", sn / n);
    CHECK(fabs(sn2 / n - 1.0) < 0.02, "normal variance %g", sn2 / n);
    /* A permutation holds every index once. */
    uint32_t perm[1000];
    int seen[1000] = {0};
    mrpc_rng_permutation(&a, perm, 1000);
    int ok = 1, moved = 0;
    for (int k = 0; k < 1000; k++) {
        if (perm[k] >= 1000 || seen[perm[k]]++) ok = 0;
        moved += perm[k] != (uint32_t)k;
    }
    CHECK(ok, "permutation is a bijection");
    CHECK(moved > 900, "permutation shuffles (%d moved)", moved);
    int counts[3] = {0};
    for (int k = 0; k < 30000; k++) counts[mrpc_rng_below(&a, 3)]++;
    CHECK(counts[0] > 9500 && counts[1] > 9500 && counts[2] > 9500, "below(3) is even: %d %d %d", counts[0],
          counts[1], counts[2]);
}

static void test_files(void) {
    const char *dir = mrpc_test_tmpdir();
    char path[1200], sub[1200];
    mrpc_error err = {0};
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    CHECK_OK(mrpc_mkdir_p(sub, &err), &err);
    CHECK(mrpc_path_exists(sub), "directory made");
    snprintf(path, sizeof path, "%s/x/y/file.txt", dir);
    CHECK_OK(mrpc_mkdir_parent(path, &err), &err);
    CHECK_OK(mrpc_file_write_atomic(path, "hello\n", 6, &err), &err);
    char *data = NULL;
    size_t size = 0;
    CHECK_OK(mrpc_file_read_all(path, 0, &data, &size, &err), &err);
    CHECK(size == 6 && data && strcmp(data, "hello\n") == 0, "read back");
    free(data);
    CHECK(mrpc_file_read_all(path, 3, &data, &size, &err) == MRPC_ERR_INVALID, "size limit enforced");
    CHECK(data == NULL, "no buffer on failure");
    snprintf(sub, sizeof sub, "%s/missing", dir);
    CHECK(mrpc_file_read_all(sub, 0, &data, &size, &err) == MRPC_ERR_IO, "missing file");
    CHECK(strcmp(err.file, sub) == 0, "error names the file");
    /* Stale temp files of an atomic write: only "<path>.tmp.*", only those older than the cut. */
    {
        char target[1200], names[4][1300];
        snprintf(target, sizeof target, "%s/stale/rec.h5", dir);
        CHECK_OK(mrpc_mkdir_parent(target, &err), &err);
        const char *suffix[4] = {".tmp.old", ".tmp.new", "x.tmp.old", ".resume.tmp.old"};
        for (int k = 0; k < 4; k++) {
            snprintf(names[k], sizeof names[k], "%s%s", target, suffix[k]);
            CHECK_OK(mrpc_file_write_atomic(names[k], "x", 1, &err), &err);
        }
        struct timespec past[2] = {{1000000000, 0}, {1000000000, 0}};
        for (int k = 0; k < 4; k++)
            if (k != 1) CHECK(utimensat(AT_FDCWD, names[k], past, 0) == 0, "backdate %s", names[k]);
        CHECK(mrpc_remove_stale_temps(target, 1500000000.0, NULL, NULL) == 1, "one stale temp file removed");
        CHECK(!mrpc_path_exists(names[0]) && mrpc_path_exists(names[1]) && mrpc_path_exists(names[2]) &&
                  mrpc_path_exists(names[3]),
              "only the old <path>.tmp.* went; a newer one and other names stay");
    }
    /* Only regular files: a directory says so; a FIFO is refused at once instead of
     * blocking until a writer comes. */
    snprintf(sub, sizeof sub, "%s/a", dir);
    CHECK(mrpc_file_read_all(sub, 0, &data, &size, &err) == MRPC_ERR_IO && strstr(err.message, "is a directory"),
          "a directory is named as one: %s", err.message);
    snprintf(sub, sizeof sub, "%s/fifo", dir);
    remove(sub);
    CHECK(mkfifo(sub, 0600) == 0, "FIFO made");
    CHECK(mrpc_file_read_all(sub, 0, &data, &size, &err) == MRPC_ERR_IO && strstr(err.message, "FIFO") && data == NULL,
          "a FIFO is refused without blocking: %s", err.message);
    remove(sub);
    uint64_t h1, h2;
    CHECK_OK(mrpc_file_hash(path, MRPC_FNV1A_INIT, &h1, &err), &err);
    h2 = mrpc_fnv1a(MRPC_FNV1A_INIT, "hello\n", 6);
    CHECK(h1 == h2, "file hash equals buffer hash");
    CHECK(mrpc_fnv1a(MRPC_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ULL, "fnv of nothing");
    CHECK(mrpc_fnv1a(MRPC_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a('a')");
    /* Locks: a second acquire in the same process on another fd is refused. */
    mrpc_lock l1, l2;
    snprintf(path, sizeof path, "%s/lock", dir);
    CHECK_OK(mrpc_lock_acquire(&l1, path, 0, &err), &err);
    CHECK(mrpc_lock_acquire(&l2, path, 0.2, &err) == MRPC_ERR_BUSY, "second lock refused");
    mrpc_lock_release(&l1);
    CHECK_OK(mrpc_lock_acquire(&l2, path, 0, &err), &err);
    mrpc_lock_release(&l2);
}

static void test_names(void) {
    CHECK(mrpc_name_is_safe("s1-lr_low.003"), "plain name");
    CHECK(!mrpc_name_is_safe(""), "empty");
    CHECK(!mrpc_name_is_safe(".hidden"), "leading dot");
    CHECK(!mrpc_name_is_safe("-rf"), "leading dash");
    CHECK(!mrpc_name_is_safe("a b"), "space");
    CHECK(!mrpc_name_is_safe("a;rm"), "semicolon");
    CHECK(!mrpc_name_is_safe("$(x)"), "command substitution");
    CHECK(!mrpc_name_is_safe("a'b"), "quote");
    CHECK(!mrpc_name_is_safe("a/b"), "slash");
    CHECK(mrpc_relpath_is_safe("runs/grid/r1.h5"), "relative path");
    CHECK(!mrpc_relpath_is_safe("../etc/passwd"), "dot-dot");
    CHECK(!mrpc_relpath_is_safe("/etc/passwd"), "absolute");
    CHECK(!mrpc_relpath_is_safe("runs//r1"), "empty component");
    CHECK(!mrpc_relpath_is_safe("runs/"), "trailing slash");
    CHECK(!mrpc_relpath_is_safe("runs/./x"), "dot component");
}

static int b_names_or_hidden(const char *name) { return name[0] == 'b' || strcmp(name, ".hidden") == 0; }
static int by_length_desc(const void *a, const void *b) {
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return x != y ? (x > y ? -1 : 1) : strcmp(*(char *const *)a, *(char *const *)b);
}

/* mrpc_list_dir: hidden names left out by default, a filter, an order, a missing directory. */
static void test_list_dir(void) {
    char dir[1100], path[1200];
    mrpc_error err = {0};
    snprintf(dir, sizeof dir, "%s/listing", mrpc_test_tmpdir());
    CHECK_OK(mrpc_mkdir_p(dir, &err), &err);
    const char *names[] = {"b2", "a", ".hidden", "ccc", "b10"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK_OK(mrpc_file_write_atomic(path, "x", 1, &err), &err);
    }
    char **got = NULL;
    size_t n = 0;
    CHECK_OK(mrpc_list_dir(dir, NULL, NULL, &got, &n, &err), &err);
    CHECK(n == 4 && !strcmp(got[0], "a") && !strcmp(got[1], "b10") && !strcmp(got[2], "b2") && !strcmp(got[3], "ccc"),
          "every name but the hidden one, sorted (%zu names)", n);
    mrpc_names_free(got, n);
    CHECK_OK(mrpc_list_dir(dir, b_names_or_hidden, by_length_desc, &got, &n, &err), &err);
    CHECK(n == 3 && !strcmp(got[0], ".hidden") && !strcmp(got[1], "b10") && !strcmp(got[2], "b2"),
          "the filter decides (hidden names too) and the order is the caller's (%zu names)", n);
    mrpc_names_free(got, n);
    snprintf(path, sizeof path, "%s/missing", dir);
    got = (char **)&n; /* must be reset */
    CHECK(mrpc_list_dir(path, NULL, NULL, &got, &n, &err) == MRPC_OK && n == 0 && got == NULL,
          "a missing directory has no names");
}

int main(void) {
    test_list_dir();
    test_error_format();
    test_parsing();
    test_philox();
    test_rng();
    test_files();
    test_names();
    return mrpc_test_report();
}
