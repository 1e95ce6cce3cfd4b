/*
 * lr_schedule.h — transformers' get_linear_schedule_with_warmup.
 *
 * multiplier(s) = s / max(1, W)                      for s < W
 *               = max(0, (N - s) / max(1, N - W))    otherwise
 * with W warmup steps and N total optimizer steps. LambdaLR evaluates s = 0 at
 * construction and steps after each optimizer.step(), so update k (1-based) uses
 * lr * multiplier(k - 1): with W = 0 the first update gets the full lr, with W > 0 it
 * gets 0.
 */
#ifndef MRPC_OPTIM_LR_SCHEDULE_H
#define MRPC_OPTIM_LR_SCHEDULE_H

#include <stdint.h>

/* multiplier(s) as above; s >= 0, warmup >= 0, total >= 0. */
double mrpc_lr_linear_multiplier(int64_t s, int64_t warmup, int64_t total);

/* Learning rate of update k (1-based): base_lr * multiplier(k - 1). */
double mrpc_lr_linear_at_update(double base_lr, int64_t k, int64_t warmup, int64_t total);

#endif /* MRPC_OPTIM_LR_SCHEDULE_H */
