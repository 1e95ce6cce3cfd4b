/*
 * test_token_cache.c — mrpc_dataset_load with a cache directory: miss then hit with
 * identical contents, corrupted / truncated / foreign cache files detected and
 * rewritten, key changes (max_seq_length, truncation rule, TSV bytes) are misses,
 * concurrent writers.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "testutil.h"
#include "token_cache.h"
#include "tokenizer.h"

#define FAST MRPC_TRUNCATION_LONGEST_FIRST
#define SLOW MRPC_TRUNCATION_LONGEST_FIRST_SLOW

static int same_dataset(const mrpc_dataset *a, const mrpc_dataset *b) {
    if (a->n != b->n || a->max_len != b->max_len || a->n_truncated != b->n_truncated) return 0;
    if (memcmp(a->labels, b->labels, a->n * sizeof *a->labels) != 0) return 0;
    if (memcmp(a->offsets, b->offsets, (a->n + 1) * sizeof *a->offsets) != 0) return 0;
    return memcmp(a->ids, b->ids, a->offsets[a->n] * sizeof *a->ids) == 0;
}

/* Number of "mrpc-tokens-*.bin" files in dir; the last one's path goes to path_out (may be NULL). */
static int cache_files(const char *dir, char *path_out, size_t path_size) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "mrpc-tokens-", 12) == 0 && len == 12 + 16 + 4 && strcmp(e->d_name + 28, ".bin") == 0) {
            n++;
            if (path_out) snprintf(path_out, path_size, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return n;
}

/* Number of files in dir whose names contain ".tmp." (leftover temporary files). */
static int tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Rewrites the file at path through fn (which edits data/size in place). */
static void edit_file(const char *path, void (*fn)(char *data, size_t *size)) {
    char *data = NULL;
    size_t size = 0;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_file_read_all(path, 0, &data, &size, &err), &err)) return;
    fn(data, &size);
    CHECK_OK(mrpc_file_write_atomic(path, data, size, &err), &err);
    free(data);
}

static void flip_payload_byte(char *data, size_t *size) { data[*size / 2] ^= 0x01; }
static void flip_header_byte(char *data, size_t *size) { data[50] ^= 0x40; } /* max_len */
static void truncate_half(char *data, size_t *size) { *size /= 2; }
static void make_garbage(char *data, size_t *size) {
    memcpy(data, "not a cache file at all", 23);
    *size = 23;
}
static void bump_version(char *data, size_t *size) { data[8] = 99; }

/* Loads, expecting success with the given hit flag and, when ref != NULL, the contents of ref. */
static void load_expect(const char *tsv, const mrpc_vocab *v, size_t max_seq, const char *cache, int want_hit,
                        const mrpc_dataset *ref, const char *what) {
    mrpc_dataset ds;
    int hit = -1;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_dataset_load(tsv, NULL, v, max_seq, FAST, cache, &ds, &hit, &err), &err)) return;
    CHECK(hit == want_hit, "%s: hit %d, want %d", what, hit, want_hit);
    if (ref) CHECK(same_dataset(&ds, ref), "%s: contents differ from the uncached result", what);
    mrpc_dataset_free(&ds);
}

int main(void) {
    char vocab_path[1024], dev_path[1024];
    snprintf(vocab_path, sizeof vocab_path, "%s", mrpc_test_data_path("bert-base-uncased/vocab.txt"));
    snprintf(dev_path, sizeof dev_path, "%s", mrpc_test_data_path("mrpc/dev.tsv"));
    const char *tmp = mrpc_test_tmpdir();
    char cache[1200], path[1400];
    snprintf(cache, sizeof cache, "%s/cache/nested", tmp);
    mrpc_vocab *v = NULL;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_vocab_load(vocab_path, &v, &err), &err)) return mrpc_test_report();

    /* Reference: no cache. */
    mrpc_dataset ref;
    int hit = -1;
    if (!CHECK_OK(mrpc_dataset_load(dev_path, NULL, v, 128, FAST, NULL, &ref, &hit, &err), &err)) return mrpc_test_report();
    CHECK(hit == 0 && ref.n == 408, "uncached load");

    /* Miss (creates the nested directory), then hit with identical contents. */
    load_expect(dev_path, v, 128, cache, 0, &ref, "first load");
    CHECK(cache_files(cache, path, sizeof path) == 1, "one cache file written");
    CHECK(tmp_files(cache) == 0, "no temporary file left");
    load_expect(dev_path, v, 128, cache, 1, &ref, "second load");
    /* A vocab loaded from the path instead of passed in gives the same key. */
    mrpc_dataset ds;
    CHECK_OK(mrpc_dataset_load(dev_path, vocab_path, NULL, 128, FAST, cache, &ds, &hit, &err), &err);
    CHECK(hit == 1 && same_dataset(&ds, &ref), "vocab by path: hit");
    mrpc_dataset_free(&ds);

    /* Damaged cache files are detected, ignored and rewritten. */
    void (*damage[])(char *, size_t *) = {flip_payload_byte, flip_header_byte, truncate_half, make_garbage,
                                          bump_version};
    const char *names[] = {"flipped payload byte", "flipped header byte", "truncated", "garbage", "other version"};
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        edit_file(path, damage[i]);
        load_expect(dev_path, v, 128, cache, 0, &ref, names[i]);
        load_expect(dev_path, v, 128, cache, 1, &ref, "after rewrite");
        CHECK(cache_files(cache, NULL, 0) == 1, "%s: still one file", names[i]);
    }
    /* An empty file. */
    CHECK_OK(mrpc_file_write_atomic(path, "", 0, &err), &err);
    load_expect(dev_path, v, 128, cache, 0, &ref, "empty file");

    /* max_seq_length is part of the key: a miss, and a second file. */
    mrpc_dataset short_ref;
    CHECK_OK(mrpc_dataset_load(dev_path, NULL, v, 32, FAST, NULL, &short_ref, &hit, &err), &err);
    CHECK(short_ref.n == 408 && short_ref.max_len == 32 && short_ref.n_truncated > 0, "max 32 truncates (%zu)",
          short_ref.n_truncated);
    load_expect(dev_path, v, 32, cache, 0, &short_ref, "max 32, first");
    load_expect(dev_path, v, 32, cache, 1, &short_ref, "max 32, second");
    load_expect(dev_path, v, 128, cache, 1, &ref, "max 128 still cached");
    CHECK(cache_files(cache, NULL, 0) == 2, "two cache files");

    /*
     * The truncation rule is part of the key: at 32 the slow rule gives other ids for
     * some pairs, so a file of the other rule must never be returned.
     */
    mrpc_dataset slow_ref;
    CHECK_OK(mrpc_dataset_load(dev_path, NULL, v, 32, SLOW, NULL, &slow_ref, &hit, &err), &err);
    CHECK(slow_ref.n == 408 && slow_ref.n_truncated == short_ref.n_truncated && !same_dataset(&slow_ref, &short_ref),
          "max 32: the slow rule cuts the same pairs differently");
    CHECK_OK(mrpc_dataset_load(dev_path, NULL, v, 32, SLOW, cache, &ds, &hit, &err), &err);
    CHECK(hit == 0 && same_dataset(&ds, &slow_ref), "slow rule, first: a miss with the slow ids");
    mrpc_dataset_free(&ds);
    CHECK_OK(mrpc_dataset_load(dev_path, NULL, v, 32, SLOW, cache, &ds, &hit, &err), &err);
    CHECK(hit == 1 && same_dataset(&ds, &slow_ref), "slow rule, second: a hit");
    mrpc_dataset_free(&ds);
    load_expect(dev_path, v, 32, cache, 1, &short_ref, "max 32, fast rule still cached");
    CHECK(cache_files(cache, NULL, 0) == 3, "three cache files");
    CHECK(mrpc_dataset_load(dev_path, NULL, v, 32, (mrpc_truncation)9, NULL, &ds, &hit, &err) == MRPC_ERR_INVALID &&
              strcmp(err.field, "truncation") == 0,
          "unknown rule refused");
    mrpc_dataset_free(&slow_ref);
    mrpc_dataset_free(&short_ref);

    /* Changed TSV bytes are a miss. */
    char tsv2[1400];
    snprintf(tsv2, sizeof tsv2, "%s/small.tsv", tmp);
    const char *small = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tThis is the first sentence.\tThis is the second one.\n";
    CHECK_OK(mrpc_file_write_atomic(tsv2, small, strlen(small), &err), &err);
    load_expect(tsv2, v, 128, cache, 0, NULL, "small, first");
    load_expect(tsv2, v, 128, cache, 1, NULL, "small, second");
    const char *small2 = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tThis is the first sentence.\tThis is the second one.\n";
    CHECK_OK(mrpc_file_write_atomic(tsv2, small2, strlen(small2), &err), &err);
    CHECK_OK(mrpc_dataset_load(tsv2, NULL, v, 128, FAST, cache, &ds, &hit, &err), &err);
    CHECK(hit == 0 && ds.n == 1 && ds.labels[0] == 0 && ds.offsets[1] == 15, "changed TSV: miss, new label");
    mrpc_dataset_free(&ds);

    /* Concurrent writers into a fresh directory: all succeed, the result is valid. */
    char cache2[1300];
    snprintf(cache2, sizeof cache2, "%s/concurrent", tmp);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            mrpc_dataset d;
            mrpc_error e = {0};
            int h;
            mrpc_status st = mrpc_dataset_load(dev_path, NULL, v, 128, FAST, cache2, &d, &h, &e);
            int ok = st == MRPC_OK && same_dataset(&d, &ref);
            if (st != MRPC_OK) mrpc_error_print(stderr, "child", &e);
            mrpc_dataset_free(&d);
            _exit(ok ? 0 : 1);
        }
    }
    int all_ok = 1;
    for (int k = 0; k < 4; k++) {
        int status = 0;
        if (kids[k] < 0 || waitpid(kids[k], &status, 0) != kids[k] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            all_ok = 0;
    }
    CHECK(all_ok, "every concurrent writer succeeded");
    CHECK(cache_files(cache2, NULL, 0) == 1 && tmp_files(cache2) == 0, "one file, no temporaries");
    load_expect(dev_path, v, 128, cache2, 1, &ref, "after concurrent writers");

    /* Errors: a cache directory that cannot be created, a missing TSV, a bad TSV, bad arguments. */
    char blocked[1400];
    snprintf(blocked, sizeof blocked, "%s/small.tsv/sub", tmp); /* below a regular file */
    CHECK(mrpc_dataset_load(dev_path, NULL, v, 128, FAST, blocked, &ds, &hit, &err) == MRPC_ERR_IO, "unwritable cache");
    CHECK(ds.n == 0 && ds.ids == NULL, "output empty on failure");
    CHECK(mrpc_dataset_load("/nonexistent/x.tsv", NULL, v, 128, FAST, cache, &ds, &hit, &err) == MRPC_ERR_IO, "missing TSV");
    const char *bad = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tok\tok\n5\t1\t2\tx\ty\n";
    CHECK_OK(mrpc_file_write_atomic(tsv2, bad, strlen(bad), &err), &err);
    CHECK(mrpc_dataset_load(tsv2, NULL, v, 128, FAST, cache, &ds, &hit, &err) == MRPC_ERR_PARSE && err.line == 3 &&
              strcmp(err.file, tsv2) == 0,
          "bad TSV: line %ld", err.line);
    CHECK(mrpc_dataset_load(dev_path, NULL, NULL, 128, FAST, NULL, &ds, &hit, &err) == MRPC_ERR_INVALID, "no vocab");
    CHECK(mrpc_dataset_load(dev_path, NULL, v, 2, FAST, NULL, &ds, &hit, &err) == MRPC_ERR_INVALID, "max_seq_length 2");
    CHECK(mrpc_dataset_load(dev_path, "/nonexistent/vocab.txt", NULL, 128, FAST, NULL, &ds, &hit, &err) == MRPC_ERR_IO,
          "missing vocab");
    mrpc_dataset_free(NULL);

    mrpc_dataset_free(&ref);
    mrpc_vocab_free(v);
    return mrpc_test_report();
}
