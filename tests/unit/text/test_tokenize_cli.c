/*
 * test_tokenize_cli.c — `mrpc-train tokenize` through the driver executable
 * (argv[1]) and in-process: output lines, --help, usage and input errors and their
 * exit codes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fsutil.h"
#include "testutil.h"
#include "tokenize_cli.h"

/* The driver and where its output goes. */
typedef struct runner {
    const char *driver;
    char out_path[1200], err_path[1200];
} runner;

/*
 * Runs "driver args > out 2> err"; returns the exit status, or -1. Fills
 * *out_text / *err_text with what it printed (caller frees; NULL when unreadable).
 */
static int run(const runner *r, const char *args, char **out_text, char **err_text) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2> '%s'", r->driver, args, r->out_path, r->err_path);
    int status = system(cmd);
    mrpc_error err = {0};
    size_t n;
    *out_text = NULL;
    *err_text = NULL;
    if (mrpc_file_read_all(r->out_path, 0, out_text, &n, &err) != MRPC_OK) *out_text = NULL;
    if (mrpc_file_read_all(r->err_path, 0, err_text, &n, &err) != MRPC_OK) *err_text = NULL;
    if (status == -1 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

static void test_driver(const runner *driver, const char *vocab, const char *tmp) {
    char tsv[1200], args[4096];
    snprintf(tsv, sizeof tsv, "%s/pairs.tsv", tmp);
    const char *text = "\xef\xbb\xbfQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
                       "1\t1\t2\tThis is the first sentence.\tThis is the second one.\r\n"
                       "0\t3\t4\tcaf\xc3\xa9\tSe\xc3\xb1or x\x12y\r\n"
                       "1\t5\t6\t\t\n";
    mrpc_error err = {0};
    CHECK_OK(mrpc_file_write_atomic(tsv, text, strlen(text), &err), &err);
    char *out, *errs;

    snprintf(args, sizeof args, "--vocab '%s' '%s'", vocab, tsv);
    int rc = run(driver, args, &out, &errs);
    const char *want = "101 2023 2003 1996 2034 6251 1012 102 2023 2003 1996 2117 2028 1012 102\n"
                       "101 7668 102 12411 2953 1060 2100 102\n"
                       "101 102 102\n";
    CHECK(rc == 0, "exit %d (%s)", rc, errs ? errs : "");
    CHECK(out && strcmp(out, want) == 0, "output:\n%s", out ? out : "(none)");
    CHECK(errs && errs[0] == '\0', "nothing on stderr");
    free(out); free(errs);

    /*
     * --max-seq-length=N form, truncation: 6 + 6 word pieces on a budget of 5. The fast
     * tokenizer's rule (the default) gives B, the originally longer one on a tie, the odd
     * token; the slow rule gives it to A.
     */
    snprintf(args, sizeof args, "--max-seq-length=8 --vocab='%s' '%s'", vocab, tsv);
    rc = run(driver, args, &out, &errs);
    CHECK(rc == 0 && out && strncmp(out, "101 2023 2003 102 2023 2003 1996 102\n", 36) == 0, "max 8: %s",
          out ? out : "");
    free(out); free(errs);
    snprintf(args, sizeof args, "--max-seq-length=8 --truncation longest_first --vocab='%s' '%s'", vocab, tsv);
    rc = run(driver, args, &out, &errs);
    CHECK(rc == 0 && out && strncmp(out, "101 2023 2003 102 2023 2003 1996 102\n", 36) == 0,
          "max 8, longest_first: %s", out ? out : "");
    free(out); free(errs);
    snprintf(args, sizeof args, "--max-seq-length=8 --truncation=longest_first_slow --vocab='%s' '%s'", vocab, tsv);
    rc = run(driver, args, &out, &errs);
    CHECK(rc == 0 && out && strncmp(out, "101 2023 2003 1996 102 2023 2003 102\n", 36) == 0,
          "max 8, longest_first_slow: %s", out ? out : "");
    free(out); free(errs);
    snprintf(args, sizeof args, "--truncation only_first --vocab='%s' '%s'", vocab, tsv);
    rc = run(driver, args, &out, &errs);
    CHECK(rc == 2 && errs &&
              strstr(errs, "--truncation: expected longest_first or longest_first_slow, got \"only_first\""),
          "bad --truncation: exit %d, %s", rc, errs ? errs : "");
    free(out); free(errs);

    /* Missing file: exit 2 and an error naming it. */
    snprintf(args, sizeof args, "--vocab '%s' '%s/missing.tsv'", vocab, tmp);
    rc = run(driver, args, &out, &errs);
    CHECK(rc == 2, "missing file: exit %d", rc);
    CHECK(errs && strncmp(errs, "mrpc-train: error: ", 19) == 0 && strstr(errs, "missing.tsv: cannot open") != NULL,
          "stderr: %s", errs ? errs : "");
    CHECK(out && out[0] == '\0', "no output");
    free(out); free(errs);

    /* A malformed TSV: exit 2 with file:line:col. */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/bad.tsv", tmp);
    const char *bad_text = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\ta\tb\tc\td\n3\ta\tb\tc\td\n";
    CHECK_OK(mrpc_file_write_atomic(bad, bad_text, strlen(bad_text), &err), &err);
    snprintf(args, sizeof args, "--vocab '%s' '%s'", vocab, bad);
    rc = run(driver, args, &out, &errs);
    char want_err[1400];
    snprintf(want_err, sizeof want_err, "mrpc-train: error: %s:3:1: Quality: expected a label 0 or 1, got \"3\"\n", bad);
    CHECK(rc == 2 && errs && strcmp(errs, want_err) == 0, "bad TSV: exit %d, %s", rc, errs ? errs : "");
    free(out); free(errs);

    /* Usage errors. */
    static const char *usage_args[] = {"", "--vocab", "--vocab v.txt", "--bogus x.tsv", "--vocab v a.tsv b.tsv",
                                       "--vocab v --max-seq-length 2 a.tsv", "--vocab v --max-seq-length 12x a.tsv"};
    for (size_t i = 0; i < sizeof usage_args / sizeof usage_args[0]; i++) {
        rc = run(driver, usage_args[i], &out, &errs);
        CHECK(rc == 2 && errs && strncmp(errs, "mrpc-train: error: ", 19) == 0, "usage '%s': exit %d, %s",
              usage_args[i], rc, errs ? errs : "");
        free(out); free(errs);
    }

    rc = run(driver, "--help", &out, &errs);
    CHECK(rc == 0 && out && strncmp(out, "usage: mrpc-train tokenize --vocab FILE", 39) == 0, "--help: %d", rc);
    free(out); free(errs);
}

/* In-process: the same command through mrpc_tokenize_cli_run with tmpfiles. */
static void test_in_process(const char *vocab, const char *tmp) {
    char tsv[1200];
    snprintf(tsv, sizeof tsv, "%s/pairs.tsv", tmp);
    char a0[] = "tokenize", a1[] = "--vocab", a3[] = "--", a5[] = "--max-seq-length", a6[] = "4";
    char *a2 = (char *)vocab, *a4 = tsv;
    char *argv[] = {a0, a5, a6, a1, a2, a3, a4, NULL};
    FILE *out = tmpfile(), *errs = tmpfile();
    if (!CHECK(out && errs, "tmpfile")) return;
    int rc = mrpc_tokenize_cli_run(7, argv, out, errs);
    CHECK(rc == 0, "exit %d", rc);
    rewind(out);
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    /* A budget of 1: the fast rule keeps one token of the longer text (B in both pairs). */
    CHECK(strcmp(buf, "101 102 2023 102\n101 102 12411 102\n101 102 102\n") == 0, "max 4: %s", buf);
    fclose(out);
    fclose(errs);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_tokenize_cli DRIVER\n");
        return 1;
    }
    char vocab[1024];
    snprintf(vocab, sizeof vocab, "%s", mrpc_test_data_path("bert-base-uncased/vocab.txt"));
    const char *tmp = mrpc_test_tmpdir();
    runner r = {.driver = argv[1]};
    snprintf(r.out_path, sizeof r.out_path, "%s/stdout.txt", tmp);
    snprintf(r.err_path, sizeof r.err_path, "%s/stderr.txt", tmp);
    test_driver(&r, vocab, tmp);
    test_in_process(vocab, tmp);
    return mrpc_test_report();
}
