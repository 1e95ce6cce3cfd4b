/*
 * test_batch.c — wave suggestions (mrpc_bo_suggest): never a duplicate of a run, a
 * pending run or another suggestion; determinism; the space-filling start; a
 * search space with nothing left; no searched dimension; and that the GP finds the
 * minimum of a smooth function.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "testutil.h"

static void set(mrpc_param *p, const char *name, mrpc_dist dist, int is_int, double lo, double hi, double base) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->dist = dist;
    p->is_int = is_int;
    p->min = lo;
    p->max = hi;
    p->baseline = base;
}

static double quad(const double *x) { return (x[0] - 0.3) * (x[0] - 0.3) + 2.0 * (x[1] - 0.7) * (x[1] - 0.7); }

static void test_converges_and_deterministic(void) {
    mrpc_space s;
    memset(&s, 0, sizeof s);
    s.n_params = 3;
    set(&s.params[0], "a", MRPC_DIST_UNIFORM, 0, 0, 1, 0.5);
    set(&s.params[1], "b", MRPC_DIST_UNIFORM, 0, 0, 1, 0.5);
    set(&s.params[2], "c", MRPC_DIST_CONSTANT, 0, 2, 2, 2); /* a constant rides along */
    size_t dims[2] = {0, 1};
    double base[3];
    mrpc_space_baseline(&s, base);
    double X[40 * 3], y[40];
    size_t n = 0;
    mrpc_bo_options opt;
    mrpc_bo_options_defaults(&opt);
    mrpc_bo_info info;
    int gp_used = 0;
    for (int wave = 0; n < 24; wave++) {
        mrpc_rng rng, rng2;
        mrpc_rng_init(&rng, 9, MRPC_RNG_TEST, (uint32_t)wave);
        mrpc_rng_init(&rng2, 9, MRPC_RNG_TEST, (uint32_t)wave);
        mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = n, .obs_values = X, .obs_y = y,
                             .design_seed = 9};
        double out[2 * 3], out2[2 * 3];
        size_t got = 0, got2 = 0;
        mrpc_error err = {0};
        if (!CHECK_OK(mrpc_bo_suggest(&p, &opt, &rng, 2, out, &got, &info, &err), &err)) return;
        CHECK_OK(mrpc_bo_suggest(&p, &opt, &rng2, 2, out2, &got2, NULL, &err), &err);
        CHECK(got == 2 && got2 == 2 && memcmp(out, out2, sizeof out) == 0, "same inputs, same suggestions (wave %d)", wave);
        gp_used |= info.used_gp;
        if (wave == 0) CHECK(!info.used_gp, "no runs yet: space-filling");
        for (size_t k = 0; k < got; k++) {
            CHECK(out[k * 3 + 2] == 2.0, "constant kept");
            for (size_t i = 0; i < n; i++)
                CHECK(!mrpc_space_config_equal(&s, out + k * 3, X + i * 3), "never a run again");
            memcpy(X + n * 3, out + k * 3, 3 * sizeof *X);
            y[n] = quad(out + k * 3);
            n++;
        }
        CHECK(!mrpc_space_config_equal(&s, out, out + 3), "the two suggestions of a wave differ");
    }
    CHECK(gp_used, "the GP took over after the start");
    double best = INFINITY;
    for (size_t i = 0; i < n; i++) best = fmin(best, y[i]);
    CHECK(best < 2e-3, "found the minimum of a quadratic in 24 runs (best %.3g)", best);
}

static void test_discrete_exhaustion(void) {
    /* 4 x 3 = 12 configurations; 8 run, 2 pending: only 2 are left to suggest. */
    mrpc_space s;
    memset(&s, 0, sizeof s);
    s.n_params = 2;
    set(&s.params[0], "warmup_steps", MRPC_DIST_INT_UNIFORM, 1, 0, 3, 0);
    set(&s.params[1], "max_seq_length", MRPC_DIST_CATEGORICAL, 1, 64, 256, 128);
    s.params[1].n_values = 3;
    s.params[1].values[0] = 64; s.params[1].values[1] = 128; s.params[1].values[2] = 256;
    size_t dims[2] = {0, 1};
    double base[2] = {0, 128};
    double X[12 * 2], y[12], P[2 * 2];
    size_t n = 0, np = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++) {
            double v[2] = {a, s.params[1].values[b]};
            if (n < 8) { memcpy(X + n * 2, v, sizeof v); y[n] = a + b * 0.5; n++; }
            else if (np < 2) { memcpy(P + np * 2, v, sizeof v); np++; }
        }
    mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .n_obs = n, .obs_values = X, .obs_y = y,
                         .n_pending = np, .pending_values = P, .design_seed = 1};
    mrpc_rng rng;
    mrpc_rng_init(&rng, 1, MRPC_RNG_TEST, 0);
    double out[5 * 2];
    size_t got = 0;
    mrpc_error err = {0};
    CHECK_OK(mrpc_bo_suggest(&p, NULL, &rng, 5, out, &got, NULL, &err), &err);
    CHECK(got == 2, "exactly the 2 unseen configurations (got %zu)", got);
    for (size_t k = 0; k < got; k++) {
        for (size_t i = 0; i < n; i++) CHECK(!mrpc_space_config_equal(&s, out + 2 * k, X + 2 * i), "not a run");
        for (size_t i = 0; i < np; i++) CHECK(!mrpc_space_config_equal(&s, out + 2 * k, P + 2 * i), "not a pending run");
        CHECK(out[2 * k] == 3.0, "the unseen ones have warmup 3 (got %g)", out[2 * k]);
    }
    if (got == 2) CHECK(!mrpc_space_config_equal(&s, out, out + 2), "distinct");
    /* Once those ran too, nothing is left. */
    memcpy(X + n * 2, P, sizeof P);
    y[n] = 1; y[n + 1] = 2;
    memcpy(X + (n + 2) * 2, out, 2 * 2 * sizeof *out);
    y[n + 2] = 3; y[n + 3] = 4;
    p.n_obs = 12;
    p.n_pending = 0;
    CHECK_OK(mrpc_bo_suggest(&p, NULL, &rng, 3, out, &got, NULL, &err), &err);
    CHECK(got == 0, "space exhausted: no suggestion (got %zu)", got);
}

static void test_no_dimension(void) {
    mrpc_space s;
    memset(&s, 0, sizeof s);
    s.n_params = 1;
    set(&s.params[0], "num_epochs", MRPC_DIST_CONSTANT, 1, 3, 3, 3);
    double base[1] = {3}, out[2];
    size_t got = 0;
    mrpc_bo_problem p = {.space = &s, .d = 0, .dims = NULL, .base = base};
    mrpc_rng rng;
    mrpc_rng_init(&rng, 1, MRPC_RNG_TEST, 0);
    mrpc_error err = {0};
    CHECK_OK(mrpc_bo_suggest(&p, NULL, &rng, 2, out, &got, NULL, &err), &err);
    CHECK(got == 1 && out[0] == 3, "only the base configuration");
    p.n_obs = 1;
    p.obs_values = base;
    double y = 0.5;
    p.obs_y = &y;
    CHECK_OK(mrpc_bo_suggest(&p, NULL, &rng, 2, out, &got, NULL, &err), &err);
    CHECK(got == 0, "and nothing once it ran");
}

static void test_design_spread(void) {
    mrpc_space s;
    memset(&s, 0, sizeof s);
    s.n_params = 2;
    set(&s.params[0], "learning_rate", MRPC_DIST_LOG_UNIFORM_VALUES, 0, 1e-6, 1e-3, 1e-5);
    set(&s.params[1], "weight_decay", MRPC_DIST_UNIFORM, 0, 0, 0.3, 0);
    size_t dims[2] = {0, 1};
    double base[2] = {1e-5, 0};
    mrpc_bo_problem p = {.space = &s, .d = 2, .dims = dims, .base = base, .design_seed = 4};
    mrpc_bo_options opt;
    mrpc_bo_options_defaults(&opt);
    opt.init_points = 8;
    mrpc_rng rng;
    mrpc_rng_init(&rng, 4, MRPC_RNG_TEST, 0);
    double out[8 * 2];
    size_t got = 0;
    mrpc_error err = {0};
    CHECK_OK(mrpc_bo_suggest(&p, &opt, &rng, 8, out, &got, NULL, &err), &err);
    CHECK(got == 8, "8 design points");
    int low = 0, high = 0;
    double mind = INFINITY;
    for (size_t i = 0; i < got; i++) {
        double u0 = mrpc_param_encode(&s.params[0], out[2 * i]), u1 = mrpc_param_encode(&s.params[1], out[2 * i + 1]);
        low += u0 < 0.5;
        high += u0 >= 0.5;
        for (size_t j = 0; j < i; j++) {
            double v0 = mrpc_param_encode(&s.params[0], out[2 * j]), v1 = mrpc_param_encode(&s.params[1], out[2 * j + 1]);
            mind = fmin(mind, hypot(u0 - v0, u1 - v1));
        }
    }
    CHECK(low >= 3 && high >= 3, "both halves of the log range covered (%d / %d)", low, high);
    CHECK(mind > 0.05, "points spread out (closest pair %.3f apart)", mind);
}

int main(void) {
    test_converges_and_deterministic();
    test_discrete_exhaustion();
    test_no_dimension();
    test_design_spread();
    return mrpc_test_report();
}
