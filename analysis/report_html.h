/*
 * report_html.h — the HTML report: one self-contained page (the PNG figures are
 * embedded as base64 data URIs, so it opens offline and can be mailed as one file;
 * the PNG and SVG files beside it are linked), plus report.md, the same report in
 * Markdown with the figures linked.
 *
 * Every string that comes from a record, a file name or a tasks.tsv (run ids,
 * reasons, parameter names, paths) is HTML-escaped. The page has no scripts and
 * loads nothing from the network.
 */
#ifndef MRPC_ANALYSIS_REPORT_HTML_H
#define MRPC_ANALYSIS_REPORT_HTML_H

#include "analysis.h"
#include "figures.h"
#include "status.h"
#include "tables.h"

/*
 * Writes <out_dir>/report.html and <out_dir>/report.md. `fig_subdir` and `table_subdir`
 * are the directories (relative to out_dir) holding the figures and the tables.
 * Fails with MRPC_ERR_IO when a figure cannot be read or the report cannot be written.
 */
mrpc_status mrpc_report_write(const mrpc_analysis *a, const mrpc_report_tables *tables, const mrpc_figures *figs,
                              const char *out_dir, const char *fig_subdir, const char *table_subdir, mrpc_error *err);

#endif /* MRPC_ANALYSIS_REPORT_HTML_H */
