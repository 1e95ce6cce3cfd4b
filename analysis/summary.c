/* summary.c — terminal summary (see summary.h). */
#include "summary.h"

#include <string.h>

void mrpc_analysis_summary_text(const mrpc_analysis *a, const char *report_path, mrpc_textbuf *out) {
    const mrpc_runset *s = a->study;
    mrpc_textbuf_printf(out, "study %s (objective %s)\n", s->root, s->objective);
    mrpc_textbuf_printf(out, "  %s\n", a->reading_runs);
    for (size_t g = 0; g < a->n_stages; g++) {
        const mrpc_analysis_stage *st = &a->stages[g];
        mrpc_textbuf_printf(out, "  stage %-12s %3zu runs, %3zu usable", st->name[0] ? st->name : "(none)", st->count,
                            st->n_usable);
        if (st->n_top) {
            const mrpc_runset_run *r = &s->runs[st->top[0]];
            mrpc_textbuf_printf(out, ", best %.2f (%s)", 100 * r->objective, r->run_id);
        }
        mrpc_textbuf_puts(out, "\n");
    }
    const char *lines[] = {a->reading_best, a->reading_mcnemar, a->reading_bootstrap, a->reading_sensitivity,
                           a->reading_bayes, a->reading_importance};
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++)
        if (lines[k][0]) mrpc_textbuf_printf(out, "  - %s\n", lines[k]);
    size_t nw = s->n_warnings + a->n_warnings;
    if (nw) mrpc_textbuf_printf(out, "  %zu warning%s (see the report)\n", nw, nw == 1 ? "" : "s");
    if (report_path) mrpc_textbuf_printf(out, "report: %s\n", report_path);
}
