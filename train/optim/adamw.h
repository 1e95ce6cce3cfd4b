/*
 * adamw.h — one torch.optim.AdamW update (PyTorch 1.13, single-tensor path, amsgrad off).
 *
 * For update t (1-based), with float32 tensors and double hyperparameters, exactly the
 * order of operations torch uses (each scalar rounded to float where torch does):
 *
 *     p  = p * (float)(1 - lr*wd)                       decoupled weight decay
 *     m  = m * (float)beta1 + (float)(1 - beta1) * g
 *     v  = v * (float)beta2 + (float)(1 - beta2) * g * g
 *     bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t             (double)
 *     denom = sqrt(v) / (float)sqrt(bc2) + (float)eps
 *     p  = p + (float)(-lr / bc1) * (m / denom)
 *
 * The HF Trainer grouping decides wd per tensor (0 for biases and LayerNorm weights);
 * the caller passes the group's wd with each range.
 *
 *     mrpc_adamw_hparams hp = {.lr = 5e-5, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
 *                              .weight_decay = 0.01, .step = 1};
 *     mrpc_adamw_update(p, g, m, v, n, &hp);
 */
#ifndef MRPC_OPTIM_ADAMW_H
#define MRPC_OPTIM_ADAMW_H

#include <stddef.h>
#include <stdint.h>

/* AdamW hyperparameters of one update. */
typedef struct mrpc_adamw_hparams {
    double  lr;           /* learning rate of this update (schedule already applied) */
    double  beta1, beta2; /* 0.9, 0.999 */
    double  eps;          /* 1e-8 */
    double  weight_decay; /* decoupled decay of this range */
    int64_t step;         /* 1-based update count t (bias corrections) */
} mrpc_adamw_hparams;

/* The float constants of one update, derived once from the hyperparameters. */
typedef struct mrpc_adamw_consts {
    float decay;      /* (float)(1 - lr*wd) */
    float beta1, one_minus_beta1;
    float beta2, one_minus_beta2;
    float bc2_sqrt;   /* (float)sqrt(1 - beta2^t) */
    float eps;
    float neg_step;   /* (float)(-lr / (1 - beta1^t)) */
} mrpc_adamw_consts;

/* Derives the float constants (see the header comment). */
void mrpc_adamw_consts_make(const mrpc_adamw_hparams *hp, mrpc_adamw_consts *c);

/*
 * Updates p, m, v [n] in place from gradient g [n] (plain loop, the reference; the CPU
 * backend splits the same loop over threads). hp->step must be >= 1.
 */
void mrpc_adamw_update(float *p, const float *g, float *m, float *v, size_t n, const mrpc_adamw_hparams *hp);

/* As mrpc_adamw_update with precomputed constants. */
void mrpc_adamw_update_c(float *p, const float *g, float *m, float *v, size_t n, const mrpc_adamw_consts *c);

#endif /* MRPC_OPTIM_ADAMW_H */
