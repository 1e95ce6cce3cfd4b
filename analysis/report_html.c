/* report_html.c — report.html (figures embedded) and report.md (see report_html.h). */
#include "report_html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "mrpc_version.h"
#include "textbuf.h"
#include "timeutil.h"

#define PNG_MAX_BYTES (32u << 20)

static const char *css =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;"
    "max-width:1240px;padding:16px 24px;line-height:1.45}\n"
    "h1{font-size:1.6em;margin:0.2em 0}h2{font-size:1.3em;border-bottom:2px solid #0072b2;padding-bottom:2px;"
    "margin-top:1.6em}h3{font-size:1.05em}\n"
    ".meta{color:#555;font-size:0.9em}\n"
    "ul.readings li{margin:0.3em 0}\n"
    ".alert{background:#fff4e5;border-left:5px solid #d55e00;padding:8px 12px;margin:12px 0}\n"
    ".ok{background:#eef7f1;border-left:5px solid #009e73;padding:8px 12px;margin:12px 0}\n"
    ".note{color:#444;font-size:0.92em}\n"
    "table.data{border-collapse:collapse;font-size:0.82em;margin:8px 0 16px 0}\n"
    "table.data th,table.data td{border:1px solid #d0d0d0;padding:3px 7px;vertical-align:top;white-space:nowrap}\n"
    "table.data td.long{white-space:normal;min-width:22em}\n"
    "table.data th{background:#eef3f8;text-align:left}\n"
    "table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.data tr.bad td{background:#fdecea}\n"
    "table.data tr.running td{background:#fff8e1}\n"
    "table.data tr.best td{background:#e3f2e9;font-weight:bold}\n"
    "table.data tr.baseline td{background:#eef3f8}\n"
    ".scroll{overflow-x:auto}\n"
    "figure{margin:12px 0 20px 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}\n"
    "figcaption{font-size:0.9em;color:#333;margin-top:4px}\n"
    ".skip{color:#777;font-style:italic}\n"
    "footer{margin-top:2em;color:#555;font-size:0.85em;border-top:1px solid #ccc;padding-top:8px}\n";

static void h(mrpc_textbuf *b, const char *s) { mrpc_textbuf_html(b, s); }

static const mrpc_figure *find_fig(const mrpc_figures *figs, const char *name) {
    for (size_t k = 0; k < figs->n; k++)
        if (strcmp(figs->f[k].name, name) == 0) return &figs->f[k];
    return NULL;
}

static mrpc_status html_figure(mrpc_textbuf *b, const mrpc_figures *figs, const char *name, const char *out_dir,
                               const char *fig_subdir, mrpc_error *err) {
    const mrpc_figure *f = find_fig(figs, name);
    if (!f) return MRPC_OK;
    if (!f->written) {
        mrpc_textbuf_puts(b, "<p class=\"skip\">Figure \"");
        h(b, f->title);
        mrpc_textbuf_puts(b, "\" not drawn: ");
        h(b, f->skipped);
        mrpc_textbuf_puts(b, ".</p>\n");
        return MRPC_OK;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.png", out_dir, fig_subdir, f->name);
    char *png = NULL;
    size_t n = 0;
    mrpc_status st = mrpc_file_read_all(path, PNG_MAX_BYTES, &png, &n, err);
    if (st != MRPC_OK) return st;
    mrpc_textbuf_printf(b, "<figure id=\"fig-%s\">\n<img alt=\"", f->name);
    h(b, f->title);
    mrpc_textbuf_printf(b, "\" width=\"%d\" height=\"%d\" src=\"data:image/png;base64,", f->width, f->height);
    mrpc_textbuf_base64(b, (const unsigned char *)png, n);
    free(png);
    mrpc_textbuf_puts(b, "\">\n<figcaption><b>");
    h(b, f->title);
    mrpc_textbuf_puts(b, ".</b> ");
    h(b, f->caption);
    mrpc_textbuf_puts(b, " <a href=\"");
    h(b, fig_subdir);
    mrpc_textbuf_printf(b, "/%s.svg\">SVG</a> · <a href=\"", f->name);
    h(b, fig_subdir);
    mrpc_textbuf_printf(b, "/%s.png\">PNG</a></figcaption>\n</figure>\n", f->name);
    return MRPC_OK;
}

static void html_table(mrpc_textbuf *b, const mrpc_table *t, const char *table_subdir, int collapsed) {
    if (collapsed) {
        mrpc_textbuf_puts(b, "<details open><summary>");
        h(b, t->title);
        mrpc_textbuf_printf(b, " (%zu rows)</summary>\n", t->n_rows);
    } else {
        mrpc_textbuf_puts(b, "<h3>");
        h(b, t->title);
        mrpc_textbuf_puts(b, "</h3>\n");
    }
    if (t->note[0]) {
        mrpc_textbuf_puts(b, "<p class=\"note\">");
        h(b, t->note);
        mrpc_textbuf_puts(b, " (<a href=\"");
        h(b, table_subdir);
        mrpc_textbuf_puts(b, "/");
        h(b, t->name);
        mrpc_textbuf_puts(b, ".csv\">CSV</a>)</p>\n");
    }
    if (t->n_rows) {
        mrpc_textbuf_puts(b, "<div class=\"scroll\">");
        mrpc_table_html(t, b);
        mrpc_textbuf_puts(b, "</div>\n");
    } else {
        mrpc_textbuf_puts(b, "<p class=\"skip\">No rows.</p>\n");
    }
    if (collapsed) mrpc_textbuf_puts(b, "</details>\n");
}

static void reading(mrpc_textbuf *b, const char *text) {
    if (!text || !text[0]) return;
    mrpc_textbuf_puts(b, "<li>");
    h(b, text);
    mrpc_textbuf_puts(b, "</li>\n");
}

static void html_alerts(mrpc_textbuf *b, const mrpc_analysis *a) {
    const mrpc_runset *s = a->study;
    size_t excluded = s->n_runs - a->n_usable;
    if (excluded) {
        mrpc_textbuf_printf(b, "<div class=\"alert\"><b>%zu of %zu runs are not in the statistics:</b> ", excluded,
                            s->n_runs);
        int first = 1;
        for (int k = MRPC_RUNSET_FAILED; k < MRPC_RUNSET_STATE_COUNT; k++) {
            size_t c = mrpc_runset_count(s, (mrpc_runset_state)k);
            if (!c) continue;
            mrpc_textbuf_printf(b, "%s%zu %s", first ? "" : ", ", c, mrpc_runset_state_str((mrpc_runset_state)k));
            first = 0;
        }
        size_t no_obj = mrpc_runset_count(s, MRPC_RUNSET_COMPLETED) - a->n_usable;
        if (no_obj) mrpc_textbuf_printf(b, "%s%zu completed without a %s", first ? "" : ", ", no_obj, s->objective);
        mrpc_textbuf_puts(b, ". See <a href=\"#not-completed\">Runs left out</a> for each run and its reason.</div>\n");
    } else {
        mrpc_textbuf_printf(b, "<div class=\"ok\">All %zu runs completed and are in the statistics.</div>\n", s->n_runs);
    }
    if (s->n_warnings || a->n_warnings) {
        mrpc_textbuf_puts(b, "<div class=\"alert\"><b>Warnings while reading the study:</b><ul>\n");
        for (size_t k = 0; k < s->n_warnings; k++) reading(b, s->warnings[k]);
        for (size_t k = 0; k < a->n_warnings; k++) reading(b, a->warnings[k]);
        mrpc_textbuf_puts(b, "</ul></div>\n");
    }
}

static mrpc_status build_html(mrpc_textbuf *b, const mrpc_analysis *a, const mrpc_report_tables *t,
                              const mrpc_figures *figs, const char *out_dir, const char *fd, const char *td,
                              mrpc_error *err) {
    const mrpc_runset *s = a->study;
    char stamp[32];
    mrpc_utc_timestamp(stamp, sizeof stamp);
    mrpc_textbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Study report: ");
    h(b, s->root);
    mrpc_textbuf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>Study report</h1>\n", css);
    mrpc_textbuf_puts(b, "<p class=\"meta\">Study <code>");
    h(b, s->root);
    mrpc_textbuf_printf(b, "</code> · objective <b>%s</b> (maximised) · %zu runs · generated %s by mrpc-analyze %s</p>\n",
                        s->objective, s->n_runs, stamp, MRPC_VERSION_STRING);
    mrpc_textbuf_puts(b, "</header>\n<section>\n<h2>Summary</h2>\n");
    html_alerts(b, a);
    mrpc_textbuf_puts(b, "<ul class=\"readings\">\n");
    reading(b, a->reading_runs);
    reading(b, a->reading_best);
    reading(b, a->reading_mcnemar);
    reading(b, a->reading_bootstrap);
    reading(b, a->reading_sensitivity);
    reading(b, a->reading_grid);
    reading(b, a->reading_bayes);
    reading(b, a->reading_importance);
    mrpc_textbuf_puts(b, "</ul>\n");
    html_table(b, &t->t[MRPC_TABLE_BEST_BY_STAGE], td, 0);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_status st;
    mrpc_textbuf_puts(b, "<section>\n<h2>Is the improvement real?</h2>\n<ul class=\"readings\">\n");
    reading(b, a->reading_mcnemar);
    reading(b, a->reading_bootstrap);
    mrpc_textbuf_puts(b, "</ul>\n<p class=\"note\">One validation example is 0.245 accuracy points of MRPC's 408; "
                         "seed-to-seed noise of a fine-tuning run is typically about one point. The best run was chosen "
                         "on the same validation examples, so its score and p-value are optimistic.</p>\n");
    html_table(b, &t->t[MRPC_TABLE_STATISTICS], td, 0);
    if ((st = html_figure(b, figs, "training_curves", out_dir, fd, err)) != MRPC_OK) return st;
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_puts(b, "<section>\n<h2>All runs at a glance</h2>\n<ul class=\"readings\">\n");
    reading(b, a->reading_importance);
    mrpc_textbuf_puts(b, "</ul>\n");
    if ((st = html_figure(b, figs, "parallel_coordinates", out_dir, fd, err)) != MRPC_OK) return st;
    html_table(b, &t->t[MRPC_TABLE_IMPORTANCE], td, 0);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_puts(b, "<section>\n<h2>Stage 1: sensitivity</h2>\n<ul class=\"readings\">\n");
    reading(b, a->reading_sensitivity);
    mrpc_textbuf_puts(b, "</ul>\n");
    if (s->has_sensitivity_yaml)
        mrpc_textbuf_puts(b, "<p class=\"note\">mrpc-optimize's sensitivity.yaml is in the study; the effects below are "
                             "recomputed from the run records.</p>\n");
    if ((st = html_figure(b, figs, "sensitivity_effects", out_dir, fd, err)) != MRPC_OK) return st;
    html_table(b, &t->t[MRPC_TABLE_SENSITIVITY], td, 0);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_puts(b, "<section>\n<h2>Stage 2: grid</h2>\n<ul class=\"readings\">\n");
    reading(b, a->reading_grid);
    mrpc_textbuf_puts(b, "</ul>\n");
    if ((st = html_figure(b, figs, "grid_heatmaps", out_dir, fd, err)) != MRPC_OK) return st;
    html_table(b, &t->t[MRPC_TABLE_GRID], td, 0);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_puts(b, "<section>\n<h2>Stage 3: Bayesian optimisation</h2>\n<ul class=\"readings\">\n");
    reading(b, a->reading_bayes);
    mrpc_textbuf_puts(b, "</ul>\n");
    if ((st = html_figure(b, figs, "optimization_progress", out_dir, fd, err)) != MRPC_OK) return st;
    html_table(b, &t->t[MRPC_TABLE_BAYES], td, 0);
    mrpc_textbuf_puts(b, "</section>\n");

    /* The confirm stage's answer and the rungs of successive halving (confirmation.h, rungs.h). */
    mrpc_textbuf_puts(b, "<section id=\"confirmation\">\n<h2>Confirmation over new seeds</h2>\n");
    html_table(b, &t->t[MRPC_TABLE_CONFIRMATION], td, 0);
    mrpc_textbuf_puts(b, "</section>\n<section id=\"rungs\">\n<h2>Rungs: accuracy per epoch</h2>\n");
    if ((st = html_figure(b, figs, "rungs", out_dir, fd, err)) != MRPC_OK) return st;
    html_table(b, &t->t[MRPC_TABLE_RUNGS], td, 1);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_puts(b, "<section id=\"not-completed\">\n<h2>Runs left out</h2>\n");
    html_table(b, &t->t[MRPC_TABLE_NOT_COMPLETED], td, 0);
    mrpc_textbuf_puts(b, "</section>\n<section>\n<h2>All runs</h2>\n");
    html_table(b, &t->t[MRPC_TABLE_RUNS], td, 1);
    mrpc_textbuf_puts(b, "</section>\n");

    mrpc_textbuf_printf(b,
                        "<footer><b>Methods.</b> McNemar: exact two-sided binomial test on the discordant validation "
                        "examples of the best run and the baseline. Confidence intervals: %.0f%% percentile bootstrap "
                        "over the validation examples, %zu resamples, seed %llu. Importance: random forest of %zu "
                        "regression trees (bootstrap samples, ceil(d/3) features per split, mean decrease in impurity, "
                        "normalised to 1) on the parameters scaled to [0, 1] (log10 first for log-scaled ones), with "
                        "Pearson and Spearman correlations. Random-search reference: expected maximum of k draws with "
                        "replacement from the empirical distribution of all usable runs' %s. Failed, diverged, running, "
                        "missing and unreadable runs are excluded from every statistic.</footer>\n</body>\n</html>\n",
                        100 * a->opt.level, a->opt.n_resamples, (unsigned long long)a->opt.seed, a->opt.n_trees,
                        s->objective);
    return MRPC_OK;
}

static void md_line(mrpc_textbuf *b, const char *text) {
    if (!text || !text[0]) return;
    mrpc_textbuf_puts(b, "- ");
    for (const char *p = text; *p; p++) {
        if (*p == '<') mrpc_textbuf_puts(b, "&lt;");
        else if (*p == '>') mrpc_textbuf_puts(b, "&gt;");
        else if (*p == '\n') mrpc_textbuf_puts(b, " ");
        else mrpc_textbuf_append(b, p, 1);
    }
    mrpc_textbuf_puts(b, "\n");
}

static void md_figure(mrpc_textbuf *b, const mrpc_figures *figs, const char *name, const char *fd) {
    const mrpc_figure *f = find_fig(figs, name);
    if (!f) return;
    if (!f->written) {
        mrpc_textbuf_printf(b, "_Figure \"%s\" not drawn: %s._\n\n", f->title, f->skipped);
        return;
    }
    mrpc_textbuf_printf(b, "![%s](%s/%s.png)\n\n%s ([SVG](%s/%s.svg))\n\n", f->title, fd, f->name, f->caption, fd, f->name);
}

static void build_md(mrpc_textbuf *b, const mrpc_analysis *a, const mrpc_report_tables *t, const mrpc_figures *figs,
                     const char *fd) {
    const mrpc_runset *s = a->study;
    mrpc_textbuf_printf(b, "# Study report\n\nStudy `%s`, objective **%s**, %zu runs (mrpc-analyze %s).\n\n## Summary\n\n",
                        s->root, s->objective, s->n_runs, MRPC_VERSION_STRING);
    md_line(b, a->reading_runs);
    md_line(b, a->reading_best);
    md_line(b, a->reading_mcnemar);
    md_line(b, a->reading_bootstrap);
    md_line(b, a->reading_sensitivity);
    md_line(b, a->reading_grid);
    md_line(b, a->reading_bayes);
    md_line(b, a->reading_importance);
    for (size_t k = 0; k < s->n_warnings; k++) md_line(b, s->warnings[k]);
    for (size_t k = 0; k < a->n_warnings; k++) md_line(b, a->warnings[k]);
    mrpc_textbuf_puts(b, "\n");
    mrpc_table_markdown(&t->t[MRPC_TABLE_BEST_BY_STAGE], b);
    mrpc_table_markdown(&t->t[MRPC_TABLE_STATISTICS], b);
    md_figure(b, figs, "training_curves", fd);
    md_figure(b, figs, "parallel_coordinates", fd);
    mrpc_table_markdown(&t->t[MRPC_TABLE_IMPORTANCE], b);
    md_figure(b, figs, "sensitivity_effects", fd);
    mrpc_table_markdown(&t->t[MRPC_TABLE_SENSITIVITY], b);
    md_figure(b, figs, "grid_heatmaps", fd);
    mrpc_table_markdown(&t->t[MRPC_TABLE_GRID], b);
    md_figure(b, figs, "optimization_progress", fd);
    mrpc_table_markdown(&t->t[MRPC_TABLE_BAYES], b);
    mrpc_table_markdown(&t->t[MRPC_TABLE_CONFIRMATION], b);
    md_figure(b, figs, "rungs", fd);
    mrpc_table_markdown(&t->t[MRPC_TABLE_RUNGS], b);
    mrpc_table_markdown(&t->t[MRPC_TABLE_NOT_COMPLETED], b);
    mrpc_table_markdown(&t->t[MRPC_TABLE_RUNS], b);
}

mrpc_status mrpc_report_write(const mrpc_analysis *a, const mrpc_report_tables *tables, const mrpc_figures *figs,
                              const char *out_dir, const char *fig_subdir, const char *table_subdir, mrpc_error *err) {
    mrpc_textbuf b;
    mrpc_textbuf_init(&b);
    char path[4096];
    mrpc_status st = build_html(&b, a, tables, figs, out_dir, fig_subdir, table_subdir, err);
    if (st == MRPC_OK) st = mrpc_textbuf_status(&b, err);
    if (st == MRPC_OK) {
        snprintf(path, sizeof path, "%s/report.html", out_dir);
        st = mrpc_file_write_atomic(path, b.data, b.len, err);
    }
    mrpc_textbuf_free(&b);
    if (st != MRPC_OK) return st;
    build_md(&b, a, tables, figs, fig_subdir);
    st = mrpc_textbuf_status(&b, err);
    if (st == MRPC_OK) {
        snprintf(path, sizeof path, "%s/report.md", out_dir);
        st = mrpc_file_write_atomic(path, b.data, b.len, err);
    }
    mrpc_textbuf_free(&b);
    return st;
}
