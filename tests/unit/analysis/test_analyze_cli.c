/* test_analyze_cli.c — mrpc-analyze end to end on the synthetic study (synth_study.h):
 * exit codes, the files it writes, tables cross-checked against the HDF5 records with h5py
 * (analyze_check.py), figures decoded and looked at (size, colours, white background, not
 * empty), SVG well-formed, and a report that names every run that is not in the statistics
 * with its reason, escaped.
 *
 * argv[1]: the mrpc-analyze binary. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "png_check.h"
#include "runrec.h"
#include "run_python.h"
#include "synth_study.h"
#include "testutil.h"

static const char *exe;

/* Runs mrpc-analyze with `args`, stdout and stderr to <log>; returns the exit code. */
static int analyze(const char *args, const char *log) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>&1", exe, args, log);
    return run_shell(cmd);
}

static char *slurp(const char *path) {
    char *text = NULL;
    size_t n = 0;
    mrpc_error err = {0};
    if (mrpc_file_read_all(path, 0, &text, &n, &err) != MRPC_OK) return NULL;
    return text;
}

/*
 * A study whose runs all score the same and whose baseline repeats agree exactly: what a
 * model that always predicts the majority class produces. Every range in the figures is
 * then empty; the report must still come out, quickly and without PLplot warnings.
 */
static int write_flat_study(const char *dir) {
    char runs[2200];
    snprintf(runs, sizeof runs, "%s/runs", dir);
    mrpc_error err = {0};
    if (mrpc_mkdir_p(runs, &err) != MRPC_OK) return 0;
    int32_t pred[408], labels[408];
    for (int i = 0; i < 408; i++) {
        pred[i] = 1;
        labels[i] = i % 3 != 0;
    }
    const char *ids[] = {"s1-base-0", "s1-base-1", "s1-base-2", "s1-lr-lo", "s1-lr-hi", "s1-wd-lo", "s1-wd-hi",
                         "g2-00", "g2-01", "g2-02", "b3-00", "b3-01", "b3-02"};
    const char *stages[] = {"sensitivity", "sensitivity", "sensitivity", "sensitivity", "sensitivity",
                            "sensitivity", "sensitivity", "grid", "grid", "grid", "bayes", "bayes", "bayes"};
    const double lr[] = {1e-3, 1e-3, 1e-3, 1e-4, 1e-2, 1e-3, 1e-3, 1e-4, 1e-2, 1e-4, 3e-4, 2e-3, 5e-3};
    const double wd[] = {0, 0, 0, 0, 0, 0.01, 0.1, 0.01, 0.1, 0.1, 0.05, 0.07, 0.02};
    for (int r = 0; r < 13; r++) {
        char path[2400];
        snprintf(path, sizeof path, "%s/%s.h5", runs, ids[r]);
        mrpc_hparam hp[3] = {{"learning_rate", MRPC_VALUE_FLOAT, lr[r], 0},
                             {"weight_decay", MRPC_VALUE_FLOAT, wd[r], 0},
                             {"seed", MRPC_VALUE_INT, (double)(42 + (r < 3 ? r : 0)), 42 + (r < 3 ? r : 0)}};
        mrpc_runrec_meta meta = {ids[r], stages[r], "host", 1, "cpu", "fp32", NULL};
        mrpc_runrec_writer *w = NULL;
        if (mrpc_runrec_create(path, &meta, hp, 3, &w, &err) != MRPC_OK) return 0;
        for (int k = 1; k <= 6; k++) mrpc_runrec_append_train(w, k, 0.6, 1e-3, 1.0, &err);
        mrpc_runrec_append_eval(w, 6, 1, 272.0 / 408, 0.8, 0.6, &err);
        mrpc_runrec_write_predictions(w, pred, labels, 408, &err);
        mrpc_runrec_summary sum = {272.0 / 408, 0.8, 272.0 / 408, 1.0, 100.0};
        if (mrpc_runrec_finish(w, MRPC_RUN_COMPLETED, NULL, &sum, &err) != MRPC_OK) return 0;
    }
    return 1;
}

static size_t count_of(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static void check_figures(const char *out) {
    const char *names[] = {"parallel_coordinates", "training_curves", "sensitivity_effects", "grid_heatmaps",
                           "optimization_progress", "rungs"};
    for (size_t k = 0; k < 6; k++) {
        char png[4096], svg[4096];
        snprintf(png, sizeof png, "%s/figures/%s.png", out, names[k]);
        snprintf(svg, sizeof svg, "%s/figures/%s.svg", out, names[k]);
        png_facts f;
        if (!CHECK(png_inspect(png, &f), "%s exists", png)) continue;
        CHECK(f.magic_ok, "%s: PNG signature and IHDR", names[k]);
        CHECK(f.width >= 800 && f.width <= 2400 && f.height >= 400 && f.height <= 1400, "%s: %ux%u pixels", names[k],
              f.width, f.height);
        CHECK(f.decoded, "%s decodes", names[k]);
        CHECK(f.corner == 0xFFFFFF, "%s: white background (corner %06x), not PLplot's black", names[k], f.corner);
        CHECK(f.distinct >= 40, "%s: %zu distinct colours (an empty plot has a handful)", names[k], f.distinct);
        CHECK(f.nonwhite > 0.03 && f.nonwhite < 0.7, "%s: %.1f%% of the pixels are drawn", names[k], 100 * f.nonwhite);
        char *s = slurp(svg);
        if (CHECK(s != NULL, "%s exists", svg)) {
            CHECK(strlen(s) > 10000 && strstr(s, "<svg") && strstr(s, "</svg>"), "%s: an SVG document with content",
                  names[k]);
            free(s);
        }
    }
}

static void check_report(const char *out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", out);
    char *html = slurp(path);
    if (!CHECK(html != NULL, "report.html written")) return;
    CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0 && strstr(html, "</html>"), "a whole HTML document");
    CHECK(count_of(html, "src=\"data:image/png;base64,") == 6, "six embedded figures");
    CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL && strstr(html, "<script") == NULL,
          "nothing loaded from the network, no scripts");
    CHECK(strstr(html, "5 of 45 runs are not in the statistics") != NULL, "the summary says how many runs are left out");
    const char *must[] = {"1 failed", "1 diverged", "1 running", "1 missing", "1 unreadable", "b3-03", "b3-06", "b3-08",
                          "g2-05", "s1-learning_rate-hi", "loss is NaN at step 35",
                          "task 3 of waves/bayes/00/tasks.tsv has no run record",
                          "killed by signal 9 (out of memory) &lt;oom-killer&gt; &amp; &quot;exit 137&quot;",
                          "McNemar exact p = ", "95% CI", "forest importance", "random search would expect"};
    for (size_t k = 0; k < sizeof must / sizeof must[0]; k++) CHECK(strstr(html, must[k]) != NULL, "report mentions: %s", must[k]);
    CHECK(strstr(html, "<oom-killer>") == NULL, "a status_reason is escaped, not markup");
    free(html);
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    if (CHECK(md != NULL, "report.md written")) {
        CHECK(strstr(md, "![") && strstr(md, "figures/parallel_coordinates.png"), "report.md links the figures");
        CHECK(strstr(md, "| b3-03 |") && strstr(md, "&lt;oom-killer&gt;"), "report.md lists left-out runs, escaped");
        free(md);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_analyze_cli MRPC_ANALYZE\n");
        return 2;
    }
    exe = argv[1];
    const char *tmp = mrpc_test_tmpdir();
    char study[2048], out[2048], log[2048], args[8192];
    snprintf(study, sizeof study, "%s/study", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(log, sizeof log, "%s/analyze.log", tmp);
    synth_info info;
    mrpc_error err = {0};
    if (!CHECK_OK(synth_study_write(study, &info, &err), &err)) return mrpc_test_report();

    snprintf(args, sizeof args, "'%s' --out '%s'", study, out);
    int rc = analyze(args, log);
    CHECK(rc == 0, "mrpc-analyze exited %d (log %s)", rc, log);
    char *stdout_text = slurp(log);
    if (CHECK(stdout_text != NULL, "terminal output captured")) {
        CHECK(strstr(stdout_text, "45 runs: 40 completed, 1 failed, 1 diverged, 1 running, 1 missing, 1 unreadable"),
              "terminal summary counts every state:\n%s", stdout_text);
        CHECK(strstr(stdout_text, info.best_run_id) && strstr(stdout_text, "report: "), "summary names the best run and the report");
        CHECK(count_of(stdout_text, "\n") <= 16, "the terminal summary is short (%zu lines)", count_of(stdout_text, "\n"));
        free(stdout_text);
    }
    const char *tables[] = {"runs", "not_completed", "best_by_stage", "sensitivity", "grid", "bayes", "importance",
                            "statistics", "rungs", "confirmation"};
    for (size_t k = 0; k < 10; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/tables/%s.csv", out, tables[k]);
        CHECK(mrpc_path_exists(p), "%s written", p);
        snprintf(p, sizeof p, "%s/tables/%s.md", out, tables[k]);
        CHECK(mrpc_path_exists(p), "%s written", p);
    }
    check_figures(out);
    check_report(out);
    rc = run_python("analyze_check.py", "import h5py, numpy, scipy", study, out, "accuracy", (char *)NULL);
    CHECK(rc == 0, "analyze_check.py (tables vs h5py) exited %d", rc);

    /* --objective f1, from the runs directory, quietly. */
    char out_f1[2100];
    snprintf(out_f1, sizeof out_f1, "%s/out-f1", tmp);
    snprintf(args, sizeof args, "'%s/runs' --out='%s' --objective f1 --quiet", study, out_f1);
    rc = analyze(args, log);
    CHECK(rc == 0, "--objective f1 exited %d", rc);
    char *quiet = slurp(log);
    CHECK(quiet && quiet[0] == '\0', "--quiet prints nothing: %s", quiet ? quiet : "(null)");
    free(quiet);
    rc = run_python("analyze_check.py", "import h5py, numpy, scipy", study, out_f1, "f1", (char *)NULL);
    CHECK(rc == 0, "analyze_check.py on the f1 report exited %d", rc);

    /* Exit codes. */
    CHECK(analyze("", log) == 2, "no arguments: usage error");
    snprintf(args, sizeof args, "'%s'", study);
    CHECK(analyze(args, log) == 2, "no --out: usage error");
    snprintf(args, sizeof args, "'%s' --out '%s/x' --objective loss", study, tmp);
    CHECK(analyze(args, log) == 2, "unknown objective: usage error");
    snprintf(args, sizeof args, "'%s' --out '%s/x' --bogus", study, tmp);
    CHECK(analyze(args, log) == 2, "unknown option: usage error");
    snprintf(args, sizeof args, "'%s/nope' --out '%s/x'", tmp, tmp);
    CHECK(analyze(args, log) == 3, "missing study: exit 3");
    snprintf(args, sizeof args, "'%s' --out '%s/out/report.html/sub'", study, tmp);
    CHECK(analyze(args, log) == 4, "output under a file: exit 4");
    CHECK(analyze("--help", log) == 0, "--help exits 0");

    /* Every run scores the same (flat ranges everywhere): quick, no PLplot warnings. */
    char flat[2100], flat_out[2100], cmd_flat[8400];
    snprintf(flat, sizeof flat, "%s/flat", tmp);
    snprintf(flat_out, sizeof flat_out, "%s/flat-out", tmp);
    if (CHECK(write_flat_study(flat), "flat study written")) {
        snprintf(cmd_flat, sizeof cmd_flat, "timeout 60 '%s' '%s' --out '%s' >'%s' 2>&1", exe, flat, flat_out, log);
        rc = run_shell(cmd_flat);
        CHECK(rc == 0, "flat study analysed within 60 s (exit %d)", rc);
        char *flat_log = slurp(log);
        CHECK(flat_log && !strstr(flat_log, "PLPLOT WARNING"), "no PLplot warnings:\n%s", flat_log ? flat_log : "");
        free(flat_log);
        const char *figs[] = {"sensitivity_effects", "optimization_progress", "parallel_coordinates"};
        for (int f = 0; f < 3; f++) {
            char fig[2300];
            snprintf(fig, sizeof fig, "%s/figures/%s.png", flat_out, figs[f]);
            CHECK(mrpc_path_exists(fig), "%s drawn for a flat study", figs[f]);
        }
    }

    /* A study where nothing completed: the report is still written, and says so; exit 1. */
    char dead[2100], dead_out[2100];
    snprintf(dead, sizeof dead, "%s/dead", tmp);
    snprintf(dead_out, sizeof dead_out, "%s/dead-out", tmp);
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/runs' && cp '%s/runs/g2-05.h5' '%s/runs/s1-learning_rate-hi.h5' '%s/runs/b3-06.h5' '%s/runs/'",
             dead, study, study, study, dead);
    CHECK(run_shell(cmd) == 0, "copied the failed runs");
    snprintf(args, sizeof args, "'%s' --out '%s'", dead, dead_out);
    rc = analyze(args, log);
    CHECK(rc == 1, "no usable run: exit 1 (got %d)", rc);
    char p[4096];
    snprintf(p, sizeof p, "%s/report.html", dead_out);
    char *html = slurp(p);
    if (CHECK(html != NULL, "report written for a study without usable runs")) {
        CHECK(strstr(html, "3 of 3 runs are not in the statistics") && strstr(html, "1 failed, 1 diverged, 1 unreadable"),
              "the report says what happened");
        CHECK(strstr(html, "not drawn") != NULL, "figures that cannot be drawn say why");
        free(html);
    }
    return mrpc_test_report();
}
