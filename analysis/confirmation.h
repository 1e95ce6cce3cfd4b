/*
 * confirmation.h — the confirmation table of mrpc-analyze, from <study>/answer.yaml (the
 * confirm stage's answer written by mrpc-optimize, optimize/stages/confirm.h): one row
 * per configuration (the baseline first, then the recommendation in its order) with its
 * values, the seeds completed, the mean and sd of the objective over the confirmation
 * seeds, and against the baseline the mean paired difference with its 95% t interval
 * and the paired t-test, sign-test and Wilcoxon p-values; the answer's row is marked and
 * the table's note is the answer's verdict (significant or within seed noise).
 *
 * A study without answer.yaml gets an empty table whose note says so. A damaged file is a
 * note too: the report still comes out.
 */
#ifndef MRPC_ANALYSIS_CONFIRMATION_H
#define MRPC_ANALYSIS_CONFIRMATION_H

#include "runset.h"
#include "table.h"

/* Builds the table "confirmation" (initialises t) from <s->root>/answer.yaml. */
void mrpc_confirmation_table(const mrpc_runset *s, mrpc_table *t);

#endif /* MRPC_ANALYSIS_CONFIRMATION_H */
