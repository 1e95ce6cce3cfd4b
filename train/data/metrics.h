/*
 * metrics.h — the GLUE MRPC metrics: accuracy and the binary F1 of class 1
 * ("equivalent"), as sklearn's f1_score(labels, preds) computes them.
 */
#ifndef MRPC_DATA_METRICS_H
#define MRPC_DATA_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct mrpc_metrics {
    double accuracy; /* correct / n */
    double f1;       /* 2 TP / (2 TP + FP + FN); 0 when there is no positive label or prediction */
    int64_t tp, fp, fn, tn;
} mrpc_metrics;

/* Computes the metrics over n predictions and labels (0/1). */
mrpc_metrics mrpc_metrics_compute(const int32_t *predictions, const int32_t *labels, size_t n);

#endif /* MRPC_DATA_METRICS_H */
