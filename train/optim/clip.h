/*
 * clip.h — torch.nn.utils.clip_grad_norm_ semantics.
 *
 * total = sqrt(sum of squares of every gradient element); coef = max_norm / (total +
 * 1e-6); when coef < 1 every gradient is multiplied by coef, else nothing changes.
 * The norm comes from the backend's sumsq (double accumulation); the coefficient is
 * applied in float.
 */
#ifndef MRPC_OPTIM_CLIP_H
#define MRPC_OPTIM_CLIP_H

/*
 * Returns the multiplier to apply for a gradient of norm `total_norm`: max_norm /
 * (total_norm + 1e-6) when that is < 1, else exactly 1.0. max_norm <= 0 disables
 * clipping (returns 1.0). A non-finite norm returns 1.0 (the caller's NaN guard decides).
 */
double mrpc_clip_coef(double total_norm, double max_norm);

#endif /* MRPC_OPTIM_CLIP_H */
