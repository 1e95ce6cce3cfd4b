/* test_space.c — distributions <-> unit interval: round trips, integer rounding, log scale, q lattice, canonical values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "space.h"
#include "testutil.h"

static mrpc_param make(mrpc_dist dist, int is_int, double min, double max, double q, double baseline) {
    mrpc_param p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "p");
    p.dist = dist;
    p.is_int = is_int;
    p.min = min;
    p.max = max;
    p.q = q;
    p.baseline = baseline;
    return p;
}

static void test_uniform(void) {
    mrpc_param p = make(MRPC_DIST_UNIFORM, 0, 0.5, 5.0, 0, 1.0);
    CHECK(mrpc_param_encode(&p, 0.5) == 0.0 && mrpc_param_encode(&p, 5.0) == 1.0, "ends map to 0 and 1");
    CHECK_CLOSE(mrpc_param_encode(&p, 2.75), 0.5, 1e-15, 0, "middle");
    CHECK(mrpc_param_encode(&p, -3) == 0.0 && mrpc_param_encode(&p, 99) == 1.0, "clamped");
    for (int i = 0; i <= 100; i++) {
        double u = i / 100.0;
        double v = mrpc_param_decode(&p, u);
        CHECK(v >= 0.5 && v <= 5.0, "decode in range");
        CHECK(mrpc_param_canonical(&p, v) == v, "decode gives canonical values");
        CHECK_CLOSE(mrpc_param_encode(&p, v), u, 1e-6, 0, "round trip u -> v -> u (6 digits)");
        CHECK(mrpc_param_decode(&p, mrpc_param_encode(&p, v)) == v, "round trip v -> u -> v exact");
    }
    CHECK(mrpc_param_canonical(&p, 1.23456789) == 1.23457, "6 significant digits");
    CHECK(mrpc_param_contains(&p, 5.0) && !mrpc_param_contains(&p, 5.0001) && !mrpc_param_contains(&p, NAN), "contains");
    CHECK(mrpc_param_is_searchable(&p), "searchable");
    char buf[64];
    mrpc_param_format(&p, 2.5, buf, sizeof buf);
    CHECK(strcmp(buf, "2.5") == 0, "format float: %s", buf);
}

static void test_log(void) {
    mrpc_param p = make(MRPC_DIST_LOG_UNIFORM_VALUES, 0, 1e-5, 1e-3, 0, 1e-4);
    CHECK_CLOSE(mrpc_param_encode(&p, 1e-4), 0.5, 1e-12, 0, "log middle is the geometric mean");
    CHECK_CLOSE(mrpc_param_decode(&p, 0.25), 3.16228e-05, 0, 1e-12, "quarter way in log scale");
    CHECK(mrpc_param_decode(&p, 0.0) == 1e-5 && mrpc_param_decode(&p, 1.0) == 1e-3, "ends exact");
    for (int i = 0; i <= 50; i++) {
        double u = i / 50.0, v = mrpc_param_decode(&p, u);
        CHECK_CLOSE(mrpc_param_encode(&p, v), u, 1e-6, 0, "log round trip");
    }
    char buf[64];
    mrpc_param_format(&p, mrpc_param_decode(&p, 0.3), buf, sizeof buf);
    CHECK(strcmp(buf, "3.98107e-05") == 0, "short text: %s", buf);
    /* An integer key on a log scale (warmup steps). */
    mrpc_param w = make(MRPC_DIST_LOG_UNIFORM_VALUES, 1, 1, 1000, 0, 10);
    CHECK(mrpc_param_decode(&w, 0.5) == 32.0, "log int decode rounds: %g", mrpc_param_decode(&w, 0.5));
}

static void test_int(void) {
    mrpc_param p = make(MRPC_DIST_INT_UNIFORM, 1, 0, 10, 0, 3);
    for (int i = 0; i <= 1000; i++) {
        double v = mrpc_param_decode(&p, i / 1000.0);
        CHECK(v == floor(v) && v >= 0 && v <= 10, "integral in range");
    }
    CHECK(mrpc_param_decode(&p, 0.44) == 4.0 && mrpc_param_decode(&p, 0.46) == 5.0, "rounded to nearest");
    CHECK(mrpc_param_canonical(&p, 2.5) == 3.0 && mrpc_param_canonical(&p, -0.4) == 0.0, "canonical rounds and clamps");
    CHECK(signbit(mrpc_param_canonical(&p, -0.2)) == 0, "no negative zero");
    CHECK(!mrpc_param_contains(&p, 2.5) && mrpc_param_contains(&p, 2), "integers only");
    char buf[64];
    mrpc_param_format(&p, 7, buf, sizeof buf);
    CHECK(strcmp(buf, "7") == 0, "format int: %s", buf);
    CHECK(mrpc_param_equal(&p, 2.4, 2.0) && !mrpc_param_equal(&p, 2.6, 2.0), "equality after rounding");
}

static void test_q(void) {
    mrpc_param p = make(MRPC_DIST_Q_UNIFORM, 0, 0.0, 0.3, 0.05, 0.1);
    CHECK(mrpc_param_canonical(&p, 0.1234) == 0.1, "to the lattice: %.17g", mrpc_param_canonical(&p, 0.1234));
    CHECK(mrpc_param_canonical(&p, 0.14) == 0.15, "0.15 exactly (not 0.15000000000000002)");
    CHECK(mrpc_param_decode(&p, 1.0) == 0.3, "top of the lattice");
    CHECK(mrpc_param_contains(&p, 0.25) && !mrpc_param_contains(&p, 0.27), "lattice membership");
    /* min not on the lattice: rounding steps inward. */
    mrpc_param r = make(MRPC_DIST_Q_UNIFORM, 0, 0.12, 0.5, 0.1, 0.2);
    CHECK(mrpc_param_canonical(&r, 0.12) == 0.2, "stepped inside the range: %g", mrpc_param_canonical(&r, 0.12));
}

static void test_categorical_and_constant(void) {
    mrpc_param p = make(MRPC_DIST_CATEGORICAL, 1, 64, 256, 0, 128);
    p.n_values = 3;
    p.values[0] = 64; p.values[1] = 128; p.values[2] = 256;
    CHECK(mrpc_param_encode(&p, 64) == 0.0 && mrpc_param_encode(&p, 128) == 0.5 && mrpc_param_encode(&p, 256) == 1.0,
          "ranks");
    CHECK(mrpc_param_decode(&p, 0.2) == 64 && mrpc_param_decode(&p, 0.3) == 128 && mrpc_param_decode(&p, 0.9) == 256,
          "decode to the nearest rank");
    CHECK(mrpc_param_canonical(&p, 100) == 128 && mrpc_param_canonical(&p, 96) == 64, "nearest value (ties low)");
    CHECK(mrpc_param_contains(&p, 128) && !mrpc_param_contains(&p, 100), "membership");
    mrpc_param one = p;
    one.n_values = 1;
    CHECK(!mrpc_param_is_searchable(&one) && mrpc_param_encode(&one, 64) == 0.5, "a single value is not a dimension");
    mrpc_param c = make(MRPC_DIST_CONSTANT, 1, 3, 3, 0, 3);
    CHECK(!mrpc_param_is_searchable(&c) && mrpc_param_decode(&c, 0.9) == 3 && mrpc_param_canonical(&c, 7) == 3, "constant");
    CHECK(mrpc_param_contains(&c, 3) && !mrpc_param_contains(&c, 4), "constant membership");
    mrpc_param flat = make(MRPC_DIST_UNIFORM, 0, 0.1, 0.1, 0, 0.1);
    CHECK(!mrpc_param_is_searchable(&flat) && mrpc_param_decode(&flat, 0.7) == 0.1, "min == max is constant");
}

static void test_space(void) {
    mrpc_space s;
    memset(&s, 0, sizeof s);
    s.n_params = 2;
    s.params[0] = make(MRPC_DIST_LOG_UNIFORM_VALUES, 0, 1e-5, 1e-3, 0, 1e-4);
    snprintf(s.params[0].name, sizeof s.params[0].name, "learning_rate");
    s.params[1] = make(MRPC_DIST_INT_UNIFORM, 1, 0, 100, 0, 10);
    snprintf(s.params[1].name, sizeof s.params[1].name, "warmup_steps");
    CHECK(mrpc_space_find(&s, "warmup_steps") == 1 && mrpc_space_find(&s, "nope") == -1, "find");
    double a[2] = {1.000001e-4, 10.2}, b[2] = {1.0000014e-4, 9.8}, c[2] = {1.00001e-4, 10};
    CHECK(mrpc_space_config_equal(&s, a, b), "equal after canonicalization");
    CHECK(!mrpc_space_config_equal(&s, a, c), "differs in the 6th digit");
    double base[2];
    mrpc_space_baseline(&s, base);
    CHECK(base[0] == 1e-4 && base[1] == 10, "baseline");
    mrpc_dist d;
    CHECK(mrpc_dist_parse("q_uniform", &d) && d == MRPC_DIST_Q_UNIFORM && !mrpc_dist_parse("log_uniform", &d), "names");
    CHECK(strcmp(mrpc_dist_name(MRPC_DIST_LOG_UNIFORM_VALUES), "log_uniform_values") == 0, "name");
}

int main(void) {
    test_uniform();
    test_log();
    test_int();
    test_q();
    test_categorical_and_constant();
    test_space();
    return mrpc_test_report();
}
