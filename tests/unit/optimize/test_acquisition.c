/*
 * test_acquisition.c — log EI: against 50-digit references (mpmath), finite and
 * monotone far into the tail, continuous across the formula's regimes, and safe
 * with tiny or zero sigma.
 */
#include <math.h>
#include <stdio.h>

#include "acquisition.h"
#include "testutil.h"

int main(void) {
    /* log(phi(z) + z Phi(z)) computed with mpmath at 50 digits. */
    static const struct { double z, logh; } ref[] = {
        {3.0, 1.0987396653277077727},       {0.5, -0.35982768374506381859},   {0.0, -0.91893853320467274178},
        {-0.999, -2.4832171154475854412},   {-1.0, -2.4851210257126413368},   {-1.001, -2.4870256579553892129},
        {-5.0, -16.744301162660990143},     {-10.0, -55.553122036122355927},  {-20.0, -206.91783850942509785},
        {-34.99, -620.18155655780671865},   {-35.0, -620.5320766759480023},   {-35.01, -620.88269663201217675},
        {-60.0, -1809.1084601822721794},    {-1000.0, -500014.73445209115845}, {-1e10, -5.0000000000000000047e19},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        double got = mrpc_log_h(ref[i].z);
        CHECK_CLOSE(got, ref[i].logh, 1e-12, 1e-12, "log h vs mpmath");
    }
    /* Plain EI underflows where log EI does not. */
    CHECK(mrpc_ei(0.0, 1.0, -40.0) == 0.0, "plain EI underflows at z = -40");
    double l = mrpc_log_ei(0.0, 1.0, -40.0);
    CHECK(isfinite(l) && l < -800.0, "log EI finite at z = -40: %g", l);
    CHECK(isfinite(mrpc_log_ei(0.0, 1e-300, -1.0)), "tiny sigma, huge negative z: finite (%g)", mrpc_log_ei(0.0, 1e-300, -1.0));
    CHECK(isfinite(mrpc_log_h(-1e150)), "finite at z = -1e150");
    /* Agreement with plain EI where that is accurate. */
    for (double z = -8.0; z <= 8.0; z += 0.25) {
        double ei = mrpc_ei(0.0, 4.0, 2.0 * z);
        CHECK_CLOSE(mrpc_log_ei(0.0, 4.0, 2.0 * z), log(ei), 1e-9, 1e-9, "log EI = log of EI");
    }
    /* Monotone increasing in z and continuous at the regime switches. */
    double prev = -INFINITY;
    int monotone = 1;
    for (double z = -200.0; z <= 10.0; z += 0.01) {
        double v = mrpc_log_h(z);
        if (!(v > prev)) monotone = 0;
        prev = v;
    }
    CHECK(monotone, "log h increases with z");
    const double edges[] = {-1.0, -35.0, 40.0};
    for (size_t i = 0; i < 3; i++) {
        double a = mrpc_log_h(nextafter(edges[i], -INFINITY)), b = mrpc_log_h(edges[i]), c = mrpc_log_h(nextafter(edges[i], INFINITY));
        CHECK_CLOSE(a, b, 1e-12, 1e-12, "continuous from below");
        CHECK_CLOSE(c, b, 1e-12, 1e-12, "continuous from above");
    }
    /* Zero variance: improvement or nothing. */
    CHECK_CLOSE(mrpc_log_ei(1.0, 0.0, 3.0), log(2.0), 0, 1e-15, "no variance, sure improvement");
    CHECK(mrpc_log_ei(3.0, 0.0, 1.0) == -INFINITY, "no variance, no improvement");
    CHECK(mrpc_log_h(-INFINITY) == -INFINITY && isnan(mrpc_log_h(NAN)), "infinities and NaN");
    return mrpc_test_report();
}
