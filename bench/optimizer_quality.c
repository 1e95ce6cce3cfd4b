/*
 * optimizer_quality.c — how well the Bayesian stage of mrpc-optimize finds optima, on
 * in-memory test functions (no HDF5, no files): Branin (2-D), Hartmann-6 (6-D) and a
 * noisy 3-D function shaped like the MRPC response (learning rate on a log scale,
 * warmup steps as integers, weight decay; accuracy with seed noise of 0.01), and the
 * bayes stage in MRPC's real regime at three seed-noise levels (stage3-sd03/12/24:
 * effects of a few points, noise of 0.3, 1.2, 2.4 accuracy points).
 *
 * For each function, each wave size q and each seed, it runs mrpc_bo_suggest wave after
 * wave until the budget is spent and prints one line per run:
 *
 *     trace <method> <function> <q> <seed> <regret after 1 evaluation> ... <after N>
 *
 * where regret is f* minus the best noise-free value among the points evaluated so
 * far (so noise does not flatter anyone). bench/optimizer_optuna.py prints the same
 * lines for Optuna's TPE and random search, and bench/optimizer_summary.py turns them
 * into the table of median regrets. The same function definitions live in both files.
 *
 * After each run one more line gives the three answers a user can get:
 *
 *     final <method> <function> <q> <seed> <oracle> <best observed> <recommended>
 *
 * oracle: the true regret of the best point evaluated (what the search found, visible
 * only to the benchmark); best observed: that of the run with the best noisy value
 * (what "the best run" is); recommended: that of the model's recommendation
 * (mrpc_bo_recommend: best posterior mean among the evaluated points).
 *
 * Usage: optimizer_quality [--seeds N] [--evals N] [--q LIST] [--functions LIST] [--plain-ei] [--ei] [--kg] [--mle]
 *        optimizer_quality --rescore FILE   (our recommendation on another method's trials)
 *        e.g. optimizer_quality --seeds 20 --evals 50 --q 1,4 --functions branin,hartmann6,mrpc3
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "batch.h"
#include "rng.h"
#include "space.h"
#include "strutil.h"
#include "timeutil.h"

#define PI 3.14159265358979323846
#define MAX_EVALS 1000

typedef struct bench_fn {
    const char *name;
    size_t      d;
    double      f_star;     /* optimum of the noise-free objective (minimization form) */
    double      noise_sd;   /* observation noise */
    void (*define)(mrpc_space *space);
    double (*eval)(const double *x); /* noise-free, minimization form, natural values */
} bench_fn;

static void set_uniform(mrpc_param *p, const char *name, double lo, double hi) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->dist = MRPC_DIST_UNIFORM;
    p->min = lo;
    p->max = hi;
    p->baseline = 0.5 * (lo + hi);
}

/* Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887. */
static void branin_define(mrpc_space *s) {
    s->n_params = 2;
    set_uniform(&s->params[0], "x1", -5.0, 10.0);
    set_uniform(&s->params[1], "x2", 0.0, 15.0);
}
static double branin(const double *x) {
    double b = 5.1 / (4.0 * PI * PI), c = 5.0 / PI, t = 1.0 / (8.0 * PI);
    double u = x[1] - b * x[0] * x[0] + c * x[0] - 6.0;
    return u * u + 10.0 * (1.0 - t) * cos(x[0]) + 10.0;
}

/* Hartmann-6 on [0, 1]^6; minimum -3.32237. */
static void hartmann6_define(mrpc_space *s) {
    s->n_params = 6;
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof name, "x%d", i + 1);
        set_uniform(&s->params[i], name, 0.0, 1.0);
    }
}
static double hartmann6(const double *x) {
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                   {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                   {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                   {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
    double f = 0.0;
    for (int i = 0; i < 4; i++) {
        double s = 0.0;
        for (int j = 0; j < 6; j++) s += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
        f -= alpha[i] * exp(-s);
    }
    return f;
}

/*
 * MRPC-shaped: validation accuracy of a fine-tuning run as a function of the learning
 * rate (log_uniform_values 1e-6..1e-3), warmup steps (int 0..600) and weight decay
 * (0..0.3). Accuracy falls to the majority-class rate 0.684 away from the best rate,
 * faster on the high side; warmup shifts the best rate up; weight decay matters a
 * little. Maximum 0.86 at lr = 10^(-4.45 + 0.25 * 200/600), warmup 200, wd 0.08.
 * Returned negated (minimization form).
 */
static void mrpc3_define(mrpc_space *s) {
    s->n_params = 3;
    mrpc_param *lr = &s->params[0], *w = &s->params[1], *wd = &s->params[2];
    set_uniform(lr, "learning_rate", 1e-6, 1e-3);
    lr->dist = MRPC_DIST_LOG_UNIFORM_VALUES;
    lr->baseline = 5e-5;
    set_uniform(w, "warmup_steps", 0, 600);
    w->dist = MRPC_DIST_INT_UNIFORM;
    w->is_int = 1;
    w->baseline = 0;
    set_uniform(wd, "weight_decay", 0.0, 0.3);
    wd->baseline = 0.0;
}
static double mrpc3(const double *x) {
    double l = log10(x[0]), w = x[1], wd = x[2];
    double best_l = -4.45 + 0.25 * (w / 600.0);
    double width = l < best_l ? 0.6 : 0.35;
    double a = (l - best_l) / width;
    double peak = 0.86 - 0.03 * ((wd - 0.08) / 0.3) * ((wd - 0.08) / 0.3);
    double acc = 0.684 + (peak - 0.684) * exp(-0.5 * a * a) - 0.01 * ((w - 200.0) / 400.0) * ((w - 200.0) / 400.0);
    return -acc;
}

/*
 * Stage 3 in MRPC's real regime (what the seed report measured for DistilBERT on MRPC):
 * after the sensitivity stage the bayes stage searches learning rate 1e-5..1e-4 (log),
 * warmup steps 0..300 and weight decay 0..0.1. The learning rate moves accuracy by
 * about 4 points over its range (its best value shifts up with warmup), warmup and
 * weight decay by about 1.2 points each; maximum 0.85 at lr = 10^(-4.55 + 0.25/3),
 * warmup 100, weight decay 0.07. The seed noise is the function's noise_sd: 0.3, 1.2
 * (MRPC's measured seed std) and 2.4 accuracy points (stage3-sd03 / -sd12 / -sd24).
 */
static void stage3_define(mrpc_space *s) {
    s->n_params = 3;
    mrpc_param *lr = &s->params[0], *w = &s->params[1], *wd = &s->params[2];
    set_uniform(lr, "learning_rate", 1e-5, 1e-4);
    lr->dist = MRPC_DIST_LOG_UNIFORM_VALUES;
    lr->baseline = 5e-5;
    set_uniform(w, "warmup_steps", 0, 300);
    w->dist = MRPC_DIST_INT_UNIFORM;
    w->is_int = 1;
    w->baseline = 0;
    set_uniform(wd, "weight_decay", 0.0, 0.1);
    wd->baseline = 0.0;
}
static double stage3(const double *x) {
    double l = log10(x[0]), w = x[1], wd = x[2];
    double best_l = -4.55 + 0.25 * (w / 300.0);
    double a = (l - best_l) / 0.55, b = (wd - 0.07) / 0.07, c = (w - 100.0) / 200.0;
    return -(0.85 - 0.04 * a * a - 0.012 * b * b - 0.012 * c * c);
}

static const bench_fn functions[] = {
    {"branin", 2, 0.397887357729738, 0.0, branin_define, branin},
    {"hartmann6", 6, -3.32236801141551, 0.0, hartmann6_define, hartmann6},
    {"mrpc3", 3, -0.86, 0.01, mrpc3_define, mrpc3},
    {"stage3-sd03", 3, -0.85, 0.003, stage3_define, stage3},
    {"stage3-sd12", 3, -0.85, 0.012, stage3_define, stage3},
    {"stage3-sd24", 3, -0.85, 0.024, stage3_define, stage3},
};

static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/*
 * The true regret of the recommendation (mrpc_bo_recommend: best posterior mean among
 * the evaluated points) on n observations X [n, np], y [n]; NAN on failure.
 */
static double recommend_regret(const bench_fn *fn, const mrpc_space *space, const double *X, const double *y, size_t n,
                               uint64_t seed, const mrpc_bo_options *opt) {
    size_t np = space->n_params;
    size_t dims[MRPC_SPACE_MAX_PARAMS];
    for (size_t i = 0; i < np; i++) dims[i] = i;
    double base[MRPC_SPACE_MAX_PARAMS];
    mrpc_space_baseline(space, base);
    mrpc_bo_problem prob = {.space = space, .d = np, .dims = dims, .base = base, .n_obs = n, .obs_values = X,
                            .obs_y = y, .design_seed = seed};
    mrpc_rng rng;
    mrpc_rng_init(&rng, seed, MRPC_RNG_OPTIMIZE, 0x7EC0u);
    mrpc_bo_pick pick;
    size_t got = 0;
    mrpc_error err = {0};
    if (mrpc_bo_recommend(&prob, opt, &rng, NULL, 1, &pick, &got, NULL, &err) != MRPC_OK || got != 1) {
        mrpc_error_print(stderr, "optimizer_quality", &err);
        return NAN;
    }
    return fn->eval(X + pick.obs * np) - fn->f_star;
}

/* The true regret of the run with the best observed value. */
static double best_observed_regret(const bench_fn *fn, size_t np, const double *X, const double *y, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (y[i] < y[b]) b = i;
    return fn->eval(X + b * np) - fn->f_star;
}

/*
 * One optimization run; writes the regret trace (evals values) and final[3]: the regret
 * of the best evaluated point (oracle), of the best observed run, of the recommendation.
 * Returns 0 on success.
 */
static int run_one(const bench_fn *fn, size_t q, uint64_t seed, size_t evals, const mrpc_bo_options *opt,
                   double *trace, double *final) {
    mrpc_space space;
    memset(&space, 0, sizeof space);
    fn->define(&space);
    size_t np = space.n_params;
    size_t dims[MRPC_SPACE_MAX_PARAMS];
    for (size_t i = 0; i < np; i++) dims[i] = i;
    double base[MRPC_SPACE_MAX_PARAMS];
    mrpc_space_baseline(&space, base);
    double *X = malloc(evals * np * sizeof *X), *y = malloc(evals * sizeof *y), *out = malloc(q * np * sizeof *out);
    if (!X || !y || !out) { free(X); free(y); free(out); return 1; }
    mrpc_rng noise;
    mrpc_rng_init(&noise, seed, MRPC_RNG_TEST, 1);
    size_t n = 0;
    double best_true = INFINITY;
    for (size_t wave = 0; n < evals; wave++) {
        mrpc_rng rng;
        mrpc_rng_init(&rng, seed, MRPC_RNG_OPTIMIZE, (uint32_t)wave);
        mrpc_bo_problem prob = {.space = &space, .d = np, .dims = dims, .base = base,
                                .n_obs = n, .obs_values = X, .obs_y = y, .design_seed = seed};
        size_t want = q < evals - n ? q : evals - n, got = 0;
        mrpc_error err = {0};
        if (mrpc_bo_suggest(&prob, opt, &rng, want, out, &got, NULL, &err) != MRPC_OK || got == 0) {
            mrpc_error_print(stderr, "optimizer_quality", &err);
            free(X); free(y); free(out);
            return 1;
        }
        for (size_t k = 0; k < got && n < evals; k++, n++) {
            memcpy(X + n * np, out + k * np, np * sizeof *X);
            double f = fn->eval(out + k * np);
            y[n] = f + fn->noise_sd * mrpc_rng_normal(&noise);
            if (f < best_true) best_true = f;
            trace[n] = best_true - fn->f_star;
        }
    }
    final[0] = trace[evals - 1];
    final[1] = best_observed_regret(fn, np, X, y, n);
    final[2] = recommend_regret(fn, &space, X, y, n, seed, opt);
    free(X); free(y); free(out);
    return isnan(final[2]) ? 1 : 0;
}

/*
 * --rescore FILE: reads the "obs <method> <function> <q> <seed> <n> <x_1 .. x_np y> ..."
 * lines of bench/optimizer_optuna.py (each trial's natural values and observed value)
 * and prints "final <method>+gp-rec <function> <q> <seed> <oracle> <best observed>
 * <recommended>" with our recommendation on the other method's data: the same answer
 * rule applied to every method, so the comparison isolates the search.
 */
static int rescore(const char *path, const mrpc_bo_options *opt) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 1; }
    char method[64], fname[64];
    long long q, seed, n;
    int rc = 0;
    while (fscanf(f, "%63s", method) == 1) {
        if (strcmp(method, "obs") != 0) { /* skip any other line */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n') {}
            continue;
        }
        if (fscanf(f, "%63s %63s %lld %lld %lld", method, fname, &q, &seed, &n) != 5 || n < 1 || n > MAX_EVALS) {
            rc = 1;
            break;
        }
        const bench_fn *fn = NULL;
        for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
            if (!strcmp(functions[i].name, fname)) fn = &functions[i];
        if (!fn) { fprintf(stderr, "optimizer_quality: unknown function %s\n", fname); rc = 1; break; }
        mrpc_space space;
        memset(&space, 0, sizeof space);
        fn->define(&space);
        size_t np = space.n_params;
        double *X = malloc((size_t)n * np * sizeof *X), *y = malloc((size_t)n * sizeof *y);
        if (!X || !y) { free(X); free(y); rc = 1; break; }
        double oracle = INFINITY;
        for (long long i = 0; i < n && rc == 0; i++) {
            for (size_t k = 0; k < np; k++)
                if (fscanf(f, "%lf", &X[i * np + k]) != 1) rc = 1;
            if (fscanf(f, "%lf", &y[i]) != 1) rc = 1;
            if (rc == 0) {
                double t = fn->eval(X + i * np) - fn->f_star;
                if (t < oracle) oracle = t;
            }
        }
        if (rc == 0) {
            double rec = recommend_regret(fn, &space, X, y, (size_t)n, (uint64_t)(1000 + seed), opt);
            printf("final %s+gp-rec %s %lld %lld %.6g %.6g %.6g\n", method, fname, q, seed, oracle,
                   best_observed_regret(fn, np, X, y, (size_t)n), rec);
        }
        free(X); free(y);
        if (rc) break;
    }
    if (rc) fprintf(stderr, "optimizer_quality: %s: malformed obs line\n", path);
    fclose(f);
    return rc;
}

int main(int argc, char **argv) {
    int64_t seeds = 20, evals = 50;
    const char *qlist = "1,4", *flist = "branin,hartmann6,mrpc3", *method = "gp";
    mrpc_bo_options opt;
    mrpc_bo_options_defaults(&opt);
    int64_t init = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[++i], &seeds) || seeds < 1) { fprintf(stderr, "bad --seeds\n"); return 2; }
        } else if (!strcmp(argv[i], "--evals") && i + 1 < argc) {
            if (!mrpc_parse_i64(argv[++i], &evals) || evals < 1 || evals > MAX_EVALS) { fprintf(stderr, "bad --evals\n"); return 2; }
        } else if (!strcmp(argv[i], "--q") && i + 1 < argc) {
            qlist = argv[++i];
        } else if (!strcmp(argv[i], "--kg")) { /* always the knowledge gradient (default: auto, batch.h) */
            opt.knowledge_gradient = 1;
        } else if (!strcmp(argv[i], "--ei")) { /* always (augmented) EI */
            opt.knowledge_gradient = 0;
        } else if (!strcmp(argv[i], "--mle")) { /* maximum-likelihood hyperparameters (no priors) */
            opt.map_priors = 0;
        } else if (!strcmp(argv[i], "--init") && i + 1 < argc) { /* space-filling runs before the GP */
            if (!mrpc_parse_i64(argv[++i], &init) || init < 0) { fprintf(stderr, "bad --init\n"); return 2; }
            opt.init_points = (size_t)init;
        } else if (!strcmp(argv[i], "--method") && i + 1 < argc) { /* the name in the output lines */
            method = argv[++i];
        } else if (!strcmp(argv[i], "--plain-ei")) {
            opt.augmented = 0;
            method = "gp-plain-ei";
        } else if (!strcmp(argv[i], "--functions") && i + 1 < argc) {
            flist = argv[++i];
        } else if (!strcmp(argv[i], "--rescore") && i + 1 < argc) {
            openblas_set_num_threads(1);
            return rescore(argv[++i], &opt);
        } else {
            fprintf(stderr,
                    "usage: %s [--seeds N] [--evals N] [--q 1,4] [--plain-ei] [--ei] [--kg] [--mle] [--init N] [--method NAME]\n"
                    "          [--functions LIST]\n"
                    "       %s [--mle] --rescore FILE\n"
                    "functions: branin, hartmann6, mrpc3, stage3-sd03, stage3-sd12, stage3-sd24\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    openblas_set_num_threads(1); /* tiny matrices: threads only add overhead (and noise in timings) */
    double *trace = malloc((size_t)evals * sizeof *trace), final[3];
    if (!trace) return 1;
    for (size_t f = 0; f < sizeof functions / sizeof functions[0]; f++) {
        const bench_fn *fn = &functions[f];
        if (!in_list(flist, fn->name)) continue;
        for (int64_t q = 1; q <= 64; q++) {
            char qs[16];
            snprintf(qs, sizeof qs, "%lld", (long long)q);
            if (!in_list(qlist, qs)) continue;
            double t0 = mrpc_seconds_now();
            for (int64_t s = 0; s < seeds; s++) {
                if (run_one(fn, (size_t)q, (uint64_t)(1000 + s), (size_t)evals, &opt, trace, final) != 0) {
                    fprintf(stderr, "optimizer_quality: %s q=%lld seed %lld failed\n", fn->name, (long long)q, (long long)s);
                    free(trace);
                    return 1;
                }
                printf("trace %s %s %lld %lld", method, fn->name, (long long)q, (long long)s);
                for (int64_t k = 0; k < evals; k++) printf(" %.6g", trace[k]);
                printf("\n");
                printf("final %s %s %lld %lld %.6g %.6g %.6g\n", method, fn->name, (long long)q, (long long)s, final[0],
                       final[1], final[2]);
                fflush(stdout);
            }
            fprintf(stderr, "optimizer_quality: %s q=%lld: %lld seeds in %.1f s\n", fn->name, (long long)q,
                    (long long)seeds, mrpc_seconds_now() - t0);
        }
    }
    free(trace);
    return 0;
}
