/* lr_schedule.c — linear warmup then linear decay (see lr_schedule.h). */
#include "lr_schedule.h"

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

double mrpc_lr_linear_multiplier(int64_t s, int64_t warmup, int64_t total) {
    if (s < warmup) {
        return (double)s / (double)max64(1, warmup);
    }
    double r = (double)(total - s) / (double)max64(1, total - warmup);
    return r > 0.0 ? r : 0.0;
}

double mrpc_lr_linear_at_update(double base_lr, int64_t k, int64_t warmup, int64_t total) {
    return base_lr * mrpc_lr_linear_multiplier(k - 1, warmup, total);
}
