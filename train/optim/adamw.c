/* adamw.c — torch.optim.AdamW arithmetic (see adamw.h). */
#include "adamw.h"

#include <math.h>

void mrpc_adamw_consts_make(const mrpc_adamw_hparams *hp, mrpc_adamw_consts *c) {
    double t = (double)hp->step;
    double bc1 = 1.0 - pow(hp->beta1, t);
    double bc2 = 1.0 - pow(hp->beta2, t);
    c->decay = (float)(1.0 - hp->lr * hp->weight_decay);
    c->beta1 = (float)hp->beta1;
    c->one_minus_beta1 = (float)(1.0 - hp->beta1);
    c->beta2 = (float)hp->beta2;
    c->one_minus_beta2 = (float)(1.0 - hp->beta2);
    c->bc2_sqrt = (float)sqrt(bc2);
    c->eps = (float)hp->eps;
    c->neg_step = (float)(-(hp->lr / bc1));
}

void mrpc_adamw_update_c(float *p, const float *g, float *m, float *v, size_t n, const mrpc_adamw_consts *c) {
    const float decay = c->decay, b1 = c->beta1, omb1 = c->one_minus_beta1, b2 = c->beta2,
                omb2 = c->one_minus_beta2, bc2s = c->bc2_sqrt, eps = c->eps, ns = c->neg_step;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * decay;                         /* param.mul_(1 - lr*wd) */
        float mi = m[i] * b1 + omb1 * gi;                /* exp_avg.mul_(b1).add_(g, 1-b1) */
        float vi = v[i] * b2 + omb2 * gi * gi;           /* exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2) */
        float denom = sqrtf(vi) / bc2s + eps;            /* (v.sqrt() / bc2_sqrt).add_(eps) */
        p[i] = pi + ns * (mi / denom);                   /* param.addcdiv_(m, denom, -step_size) */
        m[i] = mi;
        v[i] = vi;
    }
}

void mrpc_adamw_update(float *p, const float *g, float *m, float *v, size_t n, const mrpc_adamw_hparams *hp) {
    mrpc_adamw_consts c;
    mrpc_adamw_consts_make(hp, &c);
    mrpc_adamw_update_c(p, g, m, v, n, &c);
}
