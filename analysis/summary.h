/*
 * summary.h — the short summary mrpc-analyze prints on the terminal (and keeps as
 * summary.txt): run counts by state, the best run per stage, the readings of the
 * statistics, and where the report is.
 */
#ifndef MRPC_ANALYSIS_SUMMARY_H
#define MRPC_ANALYSIS_SUMMARY_H

#include "analysis.h"
#include "textbuf.h"

/* Appends the summary text to `out`; `report_path` may be NULL (then no "report:" line). */
void mrpc_analysis_summary_text(const mrpc_analysis *a, const char *report_path, mrpc_textbuf *out);

#endif /* MRPC_ANALYSIS_SUMMARY_H */
