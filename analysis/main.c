/*
 * main.c — mrpc-analyze: post-hoc analysis of a study's run records.
 *
 *     mrpc-analyze PATH --out DIR [--objective accuracy|f1] [--quiet]
 *
 * PATH is a study directory (runs/, waves/, study.yaml), its study file, or a directory
 * of run records. --objective defaults to the study file's objective.metric (accuracy
 * or f1), else accuracy.
 * Writes into DIR:
 *     report.html              the report, figures embedded (opens offline)
 *     report.md                the same in Markdown, figures linked
 *     summary.txt              the terminal summary
 *     figures/NAME.png, .svg   parallel_coordinates, training_curves, sensitivity_effects,
 *                              grid_heatmaps, optimization_progress
 *     tables/NAME.csv, .md     runs, not_completed, best_by_stage, sensitivity, grid, bayes,
 *                              importance, statistics
 *
 * Exit codes:
 *     0  report written (failed, diverged, missing runs are reported, not errors)
 *     1  report written, but no run completed with the objective (nothing to rank)
 *     2  usage error
 *     3  the study cannot be read (no such directory, no records and no wave tasks)
 *     4  the output cannot be written
 *     5  out of memory or an internal error
 */
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "figures.h"
#include "fsutil.h"
#include "mrpc_version.h"
#include "report_html.h"
#include "status.h"
#include "runset.h"
#include "summary.h"
#include "tables.h"
#include "textbuf.h"

enum { EXIT_OK = 0, EXIT_NO_USABLE = 1, EXIT_USAGE = 2, EXIT_INPUT = 3, EXIT_OUTPUT = 4, EXIT_INTERNAL = 5 };

static const char *usage_text =
    "usage: mrpc-analyze PATH --out DIR [--objective accuracy|f1] [--quiet]\n"
    "       mrpc-analyze --help | --version\n"
    "\n"
    "Reads every run record of a study (PATH: a study directory with runs/ and waves/, its\n"
    "study.yaml, or a directory of .h5 run records) and writes an HTML report with figures,\n"
    "CSV and Markdown tables, and statistics (McNemar best vs baseline, bootstrap CIs,\n"
    "parameter importance).\n"
    "\n"
    "  --out DIR         output directory (created; files in it are replaced)\n"
    "  --objective NAME  accuracy or f1: what 'best' means (default: the study file's\n"
    "                    objective.metric when it is one of them, else accuracy)\n"
    "  --quiet           no summary on stdout\n"
    "\n"
    "exit codes: 0 report written; 1 report written but no usable run; 2 usage;\n"
    "            3 study unreadable; 4 output not writable; 5 out of memory or internal error\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "mrpc-analyze: error: %s%s%s\n\n%s", msg, arg ? " " : "", arg ? arg : "", usage_text);
    return EXIT_USAGE;
}

static int exit_for(const mrpc_error *err, int output_phase) {
    if (err->status == MRPC_ERR_NOMEM || err->status == MRPC_ERR_INTERNAL) return EXIT_INTERNAL;
    return output_phase ? EXIT_OUTPUT : EXIT_INPUT;
}

int main(int argc, char **argv) {
    const char *path = NULL, *out = NULL, *objective = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("mrpc-analyze %s\n", MRPC_VERSION_STRING);
            return EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--out") == 0 || strcmp(a, "--objective") == 0) {
            if (i + 1 >= argc) return usage_error("missing value after", a);
            if (strcmp(a, "--out") == 0) out = argv[++i];
            else objective = argv[++i];
        } else if (strncmp(a, "--out=", 6) == 0) {
            out = a + 6;
        } else if (strncmp(a, "--objective=", 12) == 0) {
            objective = a + 12;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else if (!path) {
            path = a;
        } else {
            return usage_error("more than one PATH:", a);
        }
    }
    if (!path) return usage_error("missing PATH (a study directory or a directory of run records)", NULL);
    if (!out || !out[0]) return usage_error("missing --out DIR", NULL);
    if (objective && strcmp(objective, "accuracy") != 0 && strcmp(objective, "f1") != 0)
        return usage_error("--objective must be accuracy or f1, got", objective);

    mrpc_error err = {0};
    mrpc_runset study;
    if (mrpc_runset_load(path, objective, &study, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-analyze", &err);
        return exit_for(&err, 0);
    }
    mrpc_analysis an;
    if (mrpc_analysis_compute(&study, NULL, &an, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-analyze", &err);
        mrpc_runset_free(&study);
        return EXIT_INTERNAL;
    }
    mrpc_report_tables tables;
    if (mrpc_report_tables_build(&an, &tables, &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-analyze", &err);
        mrpc_analysis_free(&an);
        mrpc_runset_free(&study);
        return EXIT_INTERNAL;
    }

    int rc = EXIT_OK;
    char figdir[4096], tabdir[4096], report[4096], summary_path[4096];
    snprintf(figdir, sizeof figdir, "%s/figures", out);
    snprintf(tabdir, sizeof tabdir, "%s/tables", out);
    snprintf(report, sizeof report, "%s/report.html", out);
    snprintf(summary_path, sizeof summary_path, "%s/summary.txt", out);
    mrpc_figures figs;
    mrpc_textbuf sum;
    mrpc_textbuf_init(&sum);
    if (mrpc_mkdir_p(figdir, &err) != MRPC_OK || mrpc_mkdir_p(tabdir, &err) != MRPC_OK ||
        mrpc_report_tables_write(&tables, tabdir, &err) != MRPC_OK || mrpc_figures_write(&an, figdir, &figs, &err) != MRPC_OK ||
        mrpc_report_write(&an, &tables, &figs, out, "figures", "tables", &err) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-analyze", &err);
        rc = exit_for(&err, 1);
    } else {
        mrpc_analysis_summary_text(&an, report, &sum);
        if (mrpc_textbuf_status(&sum, &err) != MRPC_OK ||
            mrpc_file_write_atomic(summary_path, sum.data, sum.len, &err) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-analyze", &err);
            rc = exit_for(&err, 1);
        } else {
            if (!quiet) fputs(sum.data, stdout);
            if (an.n_usable == 0) {
                fprintf(stderr, "mrpc-analyze: no run completed with a %s value; the report lists what happened to each run\n",
                        study.objective);
                rc = EXIT_NO_USABLE;
            }
        }
    }
    mrpc_textbuf_free(&sum);
    mrpc_report_tables_free(&tables);
    mrpc_analysis_free(&an);
    mrpc_runset_free(&study);
    return rc;
}
