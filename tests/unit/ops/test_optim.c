/* test_optim.c — AdamW, the linear warmup schedule and the clipping coefficient against
   values computed by hand (and by torch 1.13 where noted). */
#include <math.h>
#include <stdio.h>

#include "adamw.h"
#include "clip.h"
#include "lr_schedule.h"
#include "testutil.h"

static void test_schedule(void) {
    /* W = 3, N = 10: multipliers 0, 1/3, 2/3, then (10-s)/7 */
    CHECK_CLOSE(mrpc_lr_linear_multiplier(0, 3, 10), 0.0, 0, 0, "m(0)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(1, 3, 10), 1.0 / 3.0, 1e-15, 0, "m(1)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(2, 3, 10), 2.0 / 3.0, 1e-15, 0, "m(2)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(3, 3, 10), 1.0, 0, 0, "m(3)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(4, 3, 10), 6.0 / 7.0, 1e-15, 0, "m(4)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(10, 3, 10), 0.0, 0, 0, "m(N)");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(12, 3, 10), 0.0, 0, 0, "m(>N) clamps at 0");
    /* update k uses m(k-1) */
    CHECK_CLOSE(mrpc_lr_linear_at_update(5e-5, 1, 0, 4), 5e-5, 1e-20, 0, "W=0: first update full lr");
    CHECK_CLOSE(mrpc_lr_linear_at_update(5e-5, 4, 0, 4), 5e-5 / 4.0, 1e-20, 0, "W=0: last update lr/N");
    CHECK_CLOSE(mrpc_lr_linear_at_update(5e-5, 1, 2, 4), 0.0, 0, 0, "W>0: first update 0");
    CHECK_CLOSE(mrpc_lr_linear_at_update(5e-5, 2, 2, 4), 2.5e-5, 1e-20, 0, "W=2: second update lr/2");
    /* degenerate: W = N, W = 0 = N */
    CHECK_CLOSE(mrpc_lr_linear_multiplier(5, 5, 5), 0.0, 0, 0, "W=N at s=N");
    CHECK_CLOSE(mrpc_lr_linear_multiplier(0, 0, 0), 0.0, 0, 0, "N=0");
}

static void test_clip(void) {
    CHECK_CLOSE(mrpc_clip_coef(2.0, 1.0), 1.0 / (2.0 + 1e-6), 1e-15, 0, "clip 2 -> 1");
    CHECK(mrpc_clip_coef(0.5, 1.0) == 1.0, "no clip below max_norm");
    CHECK(mrpc_clip_coef(1.0, 1.0) < 1.0, "norm == max_norm: coef 1/(1+1e-6) < 1 (torch clips)");
    CHECK(mrpc_clip_coef(5.0, 0.0) == 1.0, "max_norm 0 disables");
    CHECK(mrpc_clip_coef(NAN, 1.0) == 1.0, "NaN norm: no scaling");
}

static void test_adamw(void) {
    /* one element, two updates, by hand in double (float rounding tolerance) */
    float p = 0.5f, m = 0.0f, v = 0.0f, g = 0.2f;
    mrpc_adamw_hparams hp = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1, .step = 1};
    mrpc_adamw_update(&p, &g, &m, &v, 1, &hp);
    /* t=1: p = 0.5*(1-0.01) = 0.495; m = 0.02; v = 0.001*0.04 = 4e-5;
       mhat = 0.2, vhat = 0.04 -> p -= 0.1 * 0.2/(0.2+1e-8) */
    double p1 = 0.495 - 0.1 * (0.02 / 0.1) / (sqrt(4e-5) / sqrt(0.001) + 1e-8);
    CHECK_CLOSE(p, p1, 1e-7, 1e-6, "adamw t=1 p");
    CHECK_CLOSE(m, 0.02, 1e-9, 1e-6, "adamw t=1 m");
    CHECK_CLOSE(v, 4e-5, 1e-12, 1e-6, "adamw t=1 v");
    g = -0.1f;
    hp.step = 2;
    mrpc_adamw_update(&p, &g, &m, &v, 1, &hp);
    double m2 = 0.9 * 0.02 + 0.1 * -0.1, v2 = 0.999 * 4e-5 + 0.001 * 0.01;
    double p2 = p1 * (1 - 0.01) - (0.1 / (1 - 0.81)) * m2 / (sqrt(v2) / sqrt(1 - 0.998001) + 1e-8);
    CHECK_CLOSE(m, m2, 1e-9, 1e-6, "adamw t=2 m");
    CHECK_CLOSE(v, v2, 1e-12, 1e-6, "adamw t=2 v");
    CHECK_CLOSE(p, p2, 1e-7, 1e-6, "adamw t=2 p");
    /* zero gradient and zero state: only the decay moves p; a zero row stays zero */
    float z[2] = {0.0f, 1.0f}, gz[2] = {0, 0}, mz[2] = {0, 0}, vz[2] = {0, 0};
    hp.step = 1;
    mrpc_adamw_update(z, gz, mz, vz, 2, &hp);
    CHECK(z[0] == 0.0f, "zero param with zero grad stays zero");
    CHECK_CLOSE(z[1], 0.99, 1e-7, 0, "decay only");
    /* torch 1.13 reference (AdamW(lr=1e-3, wd=0.01), p=[1.0,-2.0], g=[0.3,-0.4], 1 step):
       p = [0.99899, -1.99898] */
    float tp[2] = {1.0f, -2.0f}, tg[2] = {0.3f, -0.4f}, tm[2] = {0, 0}, tv[2] = {0, 0};
    mrpc_adamw_hparams th = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .step = 1};
    mrpc_adamw_update(tp, tg, tm, tv, 2, &th);
    CHECK_CLOSE(tp[0], 0.99899, 2e-7, 0, "torch value p[0]");
    CHECK_CLOSE(tp[1], -1.99898, 2e-7, 0, "torch value p[1]");
}

int main(void) {
    test_schedule();
    test_clip();
    test_adamw();
    return mrpc_test_report();
}
