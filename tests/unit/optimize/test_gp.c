/*
 * test_gp.c — the Gaussian process against scikit-learn (sklearn_gp_reference.py):
 * posterior mean and variance, log marginal likelihood and its gradient for fixed
 * hyperparameters, with and without standardized outputs; then the gradient against
 * finite differences, the fit, batch prediction and Kriging-believer fantasies.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gp.h"
#include "rng.h"
#include "testutil.h"

#define MAXN 64
typedef struct ref {
    size_t d, n, m, nx, nxs;
    double X[MAXN * 3], y[MAXN], Xs[MAXN * 3], theta[5], lml, grad[5], mean[MAXN], var[MAXN];
    double nmean[MAXN], nvar[MAXN], nlml;
} ref;

static size_t parse_values(char *s, double *out, size_t max) {
    size_t k = 0;
    for (char *tok = strtok(s, " \n"); tok && k < max; tok = strtok(NULL, " \n")) out[k++] = strtod(tok, NULL);
    return k;
}

static int load_reference(ref *r) {
    const char *src = getenv("MRPC_SOURCE_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/optimize/sklearn_gp_reference.py",
             src ? src : "../../..");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[8192];
    memset(r, 0, sizeof *r);
    while (fgets(line, sizeof line, p)) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        char *rest = sp + 1;
        double v[64];
        size_t k = parse_values(rest, v, 64);
        if (!strcmp(line, "d")) r->d = (size_t)v[0];
        else if (!strcmp(line, "n")) r->n = (size_t)v[0];
        else if (!strcmp(line, "m")) r->m = (size_t)v[0];
        else if (!strcmp(line, "X")) { memcpy(r->X + r->nx * 3, v, 3 * sizeof *v); r->nx++; }
        else if (!strcmp(line, "Xs")) { memcpy(r->Xs + r->nxs * 3, v, 3 * sizeof *v); r->nxs++; }
        else if (!strcmp(line, "y")) memcpy(r->y, v, k * sizeof *v);
        else if (!strcmp(line, "theta")) memcpy(r->theta, v, k * sizeof *v);
        else if (!strcmp(line, "lml")) r->lml = v[0];
        else if (!strcmp(line, "grad")) memcpy(r->grad, v, k * sizeof *v);
        else if (!strcmp(line, "mean")) memcpy(r->mean, v, k * sizeof *v);
        else if (!strcmp(line, "var")) memcpy(r->var, v, k * sizeof *v);
        else if (!strcmp(line, "nmean")) memcpy(r->nmean, v, k * sizeof *v);
        else if (!strcmp(line, "nvar")) memcpy(r->nvar, v, k * sizeof *v);
        else if (!strcmp(line, "nlml")) r->nlml = v[0];
    }
    int rc = pclose(p);
    if (rc != 0) return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return (r->d == 3 && r->n == r->nx && r->m == r->nxs && r->n > 0) ? 0 : -1;
}

static void test_against_sklearn(const ref *r) {
    mrpc_gp_hyper h = {.d = r->d};
    mrpc_gp_hyper_unpack(&h, r->theta);
    mrpc_error err = {0};

    double lml = 0, grad[5] = {0};
    CHECK_OK(mrpc_gp_log_marginal(r->X, r->y, r->n, &h, &lml, grad, &err), &err);
    CHECK_CLOSE(lml, r->lml, 1e-9, 1e-9, "log marginal likelihood vs sklearn");
    for (size_t k = 0; k < r->d + 2; k++) CHECK_CLOSE(grad[k], r->grad[k], 1e-8, 1e-7, "lml gradient vs sklearn");

    mrpc_gp gp = {0};
    CHECK_OK(mrpc_gp_condition(&gp, r->X, r->y, r->n, r->d, &h, 0, 0, &err), &err);
    for (size_t j = 0; j < r->m; j++) {
        double m, v;
        mrpc_gp_predict(&gp, r->Xs + j * 3, &m, &v);
        CHECK_CLOSE(m, r->mean[j], 1e-9, 1e-9, "posterior mean vs sklearn");
        CHECK_CLOSE(v, r->var[j], 1e-9, 1e-7, "posterior variance vs sklearn");
    }
    /* Batch prediction equals one-by-one prediction. */
    double bm[MAXN], bv[MAXN];
    CHECK_OK(mrpc_gp_predict_many(&gp, r->Xs, r->m, bm, bv, &err), &err);
    for (size_t j = 0; j < r->m; j++) {
        CHECK_CLOSE(bm[j], r->mean[j], 1e-9, 1e-9, "batch mean");
        CHECK_CLOSE(bv[j], r->var[j], 1e-9, 1e-7, "batch variance");
    }
    mrpc_gp_free(&gp);

    /* normalize_y=True: standardized fit, predictions back in y units. */
    CHECK_OK(mrpc_gp_condition(&gp, r->X, r->y, r->n, r->d, &h, 1, 0, &err), &err);
    double ys[MAXN];
    for (size_t i = 0; i < r->n; i++) ys[i] = (r->y[i] - gp.y_mean) / gp.y_std;
    CHECK_OK(mrpc_gp_log_marginal(r->X, ys, r->n, &h, &lml, NULL, &err), &err);
    CHECK_CLOSE(lml, r->nlml, 1e-9, 1e-9, "standardized lml vs sklearn");
    for (size_t j = 0; j < r->m; j++) {
        double m, v;
        mrpc_gp_predict(&gp, r->Xs + j * 3, &m, &v);
        CHECK_CLOSE(m * gp.y_std + gp.y_mean, r->nmean[j], 1e-9, 1e-9, "normalized mean vs sklearn");
        CHECK_CLOSE(v * gp.y_std * gp.y_std, r->nvar[j], 1e-9, 1e-7, "normalized variance vs sklearn");
    }
    mrpc_gp_free(&gp);
}

static void test_gradient_fd(const ref *r) {
    mrpc_gp_hyper h = {.d = r->d};
    double theta[5] = {-0.5, 0.3, -1.2, 0.4, -2.0};
    mrpc_gp_hyper_unpack(&h, theta);
    mrpc_error err = {0};
    double lml, grad[5];
    CHECK_OK(mrpc_gp_log_marginal(r->X, r->y, r->n, &h, &lml, grad, &err), &err);
    for (size_t k = 0; k < 5; k++) {
        double tp[5], tm[5], lp, lm;
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[k] += 1e-6;
        tm[k] -= 1e-6;
        mrpc_gp_hyper hp = {.d = r->d}, hm = {.d = r->d};
        mrpc_gp_hyper_unpack(&hp, tp);
        mrpc_gp_hyper_unpack(&hm, tm);
        mrpc_gp_log_marginal(r->X, r->y, r->n, &hp, &lp, NULL, &err);
        mrpc_gp_log_marginal(r->X, r->y, r->n, &hm, &lm, NULL, &err);
        CHECK_CLOSE(grad[k], (lp - lm) / 2e-6, 1e-5, 1e-5, "gradient vs central difference");
    }
}

static void test_fit(const ref *r) {
    mrpc_error err = {0};
    double ys[MAXN], mean = 0, sd = 0;
    for (size_t i = 0; i < r->n; i++) mean += r->y[i];
    mean /= (double)r->n;
    for (size_t i = 0; i < r->n; i++) sd += (r->y[i] - mean) * (r->y[i] - mean);
    sd = sqrt(sd / (double)r->n);
    for (size_t i = 0; i < r->n; i++) ys[i] = (r->y[i] - mean) / sd;
    mrpc_rng rng;
    mrpc_rng_init(&rng, 7, MRPC_RNG_TEST, 0);
    mrpc_gp_fit_options fo;
    mrpc_gp_fit_defaults(&fo, &rng);
    mrpc_gp_hyper h, h2;
    double best = 0, best2 = 0;
    CHECK_OK(mrpc_gp_fit(r->X, ys, r->n, r->d, &fo, &h, &best, &err), &err);
    /* The optimum beats the fixed reference hyperparameters and is (locally) stationary. */
    mrpc_gp_hyper href = {.d = r->d};
    double tref[5];
    memcpy(tref, r->theta, sizeof tref);
    mrpc_gp_hyper_unpack(&href, tref);
    double lref, grad[5];
    mrpc_gp_log_marginal(r->X, ys, r->n, &href, &lref, NULL, &err);
    CHECK(best >= lref - 1e-9, "fitted lml %.6f >= reference %.6f", best, lref);
    double lml;
    CHECK_OK(mrpc_gp_log_marginal(r->X, ys, r->n, &h, &lml, grad, &err), &err);
    CHECK_CLOSE(lml, best, 1e-9, 1e-9, "reported lml is the lml at the result");
    double lb[5], ub[5];
    for (size_t k = 0; k < 3; k++) { lb[k] = log(fo.ls_min); ub[k] = log(fo.ls_max); }
    lb[3] = log(fo.sf2_min); ub[3] = log(fo.sf2_max); lb[4] = log(fo.sn2_min); ub[4] = log(fo.sn2_max);
    double th[5];
    mrpc_gp_hyper_pack(&h, th);
    for (size_t k = 0; k < 5; k++) {
        int at_bound = th[k] <= lb[k] + 1e-6 || th[k] >= ub[k] - 1e-6;
        CHECK(at_bound || fabs(grad[k]) < 1e-2, "gradient %zu is %.3g at an interior optimum", k, grad[k]);
    }
    /* Same stream, same result (determinism). */
    mrpc_rng_init(&rng, 7, MRPC_RNG_TEST, 0);
    CHECK_OK(mrpc_gp_fit(r->X, ys, r->n, r->d, &fo, &h2, &best2, &err), &err);
    CHECK(memcmp(&h, &h2, sizeof h) == 0 && best == best2, "fit is deterministic");
}

static void test_fantasy(const ref *r) {
    /* Adding a believed point equals conditioning on it with y = posterior mean. */
    mrpc_gp_hyper h = {.d = r->d};
    mrpc_gp_hyper_unpack(&h, r->theta);
    mrpc_error err = {0};
    mrpc_gp gp = {0}, full = {0};
    CHECK_OK(mrpc_gp_condition(&gp, r->X, r->y, r->n, r->d, &h, 0, 2, &err), &err);
    double xf[2][3] = {{0.1, 0.2, 0.3}, {0.12, 0.25, 0.3}};
    double X2[(MAXN + 2) * 3], y2[MAXN + 2];
    memcpy(X2, r->X, r->n * 3 * sizeof *X2);
    memcpy(y2, r->y, r->n * sizeof *y2);
    for (int f = 0; f < 2; f++) {
        double m, v;
        mrpc_gp_predict(&gp, xf[f], &m, &v);
        memcpy(X2 + (r->n + f) * 3, xf[f], sizeof xf[f]);
        y2[r->n + f] = m;
        CHECK_OK(mrpc_gp_add_fantasy(&gp, xf[f], &err), &err);
    }
    CHECK(mrpc_gp_add_fantasy(&gp, xf[0], &err) == MRPC_ERR_INVALID, "no room beyond cap");
    CHECK_OK(mrpc_gp_condition(&full, X2, y2, r->n + 2, r->d, &h, 0, 0, &err), &err);
    for (size_t j = 0; j < r->m; j++) {
        double m1, v1, m2, v2;
        mrpc_gp_predict(&gp, r->Xs + j * 3, &m1, &v1);
        mrpc_gp_predict(&full, r->Xs + j * 3, &m2, &v2);
        CHECK_CLOSE(m1, m2, 1e-9, 1e-8, "believer leaves the mean unchanged");
        CHECK_CLOSE(v1, v2, 1e-10, 1e-8, "believer variance equals full conditioning");
    }
    double m, v, m0, v0;
    mrpc_gp_predict(&gp, xf[0], &m, &v);
    mrpc_gp_free(&full);
    CHECK_OK(mrpc_gp_condition(&full, r->X, r->y, r->n, r->d, &h, 0, 0, &err), &err);
    mrpc_gp_predict(&full, xf[0], &m0, &v0);
    CHECK(v < 0.5 * v0, "variance shrinks at a believed point (%.3g -> %.3g)", v0, v);
    mrpc_gp_free(&gp);
    mrpc_gp_free(&full);
    mrpc_gp_free(NULL);
}

static void test_bad_input(void) {
    mrpc_error err = {0};
    mrpc_gp_hyper h = {.d = 0};
    double x = 0, y = 0, lml;
    CHECK(mrpc_gp_log_marginal(&x, &y, 1, &h, &lml, NULL, &err) == MRPC_ERR_INVALID, "d = 0 refused");
    mrpc_gp gp = {0};
    h.d = 2;
    CHECK(mrpc_gp_condition(&gp, &x, &y, 1, 1, &h, 0, 0, &err) == MRPC_ERR_INVALID, "d mismatch refused");
}

int main(void) {
    static ref r;
    int rc = load_reference(&r);
    if (rc == 77) mrpc_test_skip("scikit-learn is not available to /usr/bin/python3");
    CHECK(rc == 0, "reference script ran (rc %d)", rc);
    if (rc == 0) {
        test_against_sklearn(&r);
        test_gradient_fd(&r);
        test_fit(&r);
        test_fantasy(&r);
    }
    test_bad_input();
    return mrpc_test_report();
}
