/* metrics.c — accuracy and F1 (see metrics.h). */
#include "metrics.h"

mrpc_metrics mrpc_metrics_compute(const int32_t *predictions, const int32_t *labels, size_t n) {
    mrpc_metrics m = {0};
    for (size_t i = 0; i < n; i++) {
        int p = predictions[i] == 1, l = labels[i] == 1;
        if (p && l) m.tp++;
        else if (p && !l) m.fp++;
        else if (!p && l) m.fn++;
        else m.tn++;
    }
    m.accuracy = n ? (double)(m.tp + m.tn) / (double)n : 0.0;
    int64_t denom = 2 * m.tp + m.fp + m.fn;
    m.f1 = denom ? 2.0 * (double)m.tp / (double)denom : 0.0;
    return m;
}
