/*
 * test_fidelity.c — successive halving: the rungs of a fidelity block, the study's
 * `fidelity` settings and every impossible one refused with file:line:column, the
 * promotion choice of ASHA (top floor(n/eta) of a rung, never twice, ties by run id, a
 * rung promotes as soon as it has eta results, failures count as the worst), BOHB's
 * choice of the rung stage 3 models, and whole waves planned from in-memory histories.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asha.h"
#include "fidelity.h"
#include "fsutil.h"
#include "mf_model.h"
#include "stages.h"
#include "study_fixture.h"
#include "testutil.h"

static char study_file[1200];

static int parse(const char *text, mrpc_study *st, mrpc_error *err) {
    memset(err, 0, sizeof *err);
    return mrpc_study_parse(study_file, text, strlen(text), st, err) == MRPC_OK;
}

/* ---- rungs ------------------------------------------------------------------------- */

static void check_rungs(int64_t min_iter, int64_t eta, int64_t max_iter, int64_t num_epochs, const int64_t *want,
                        size_t n_want) {
    mrpc_fidelity f = {.enabled = 1, .min_iter = min_iter, .eta = eta, .max_iter = max_iter, .num_epochs = num_epochs};
    int64_t r[MRPC_FIDELITY_MAX_RUNGS];
    size_t n = mrpc_fidelity_rungs(&f, r, MRPC_FIDELITY_MAX_RUNGS);
    int same = n == n_want;
    for (size_t i = 0; same && i < n; i++) same = r[i] == want[i];
    CHECK(same, "rungs of min_iter %lld eta %lld max_iter %lld num_epochs %lld: got %zu rungs, first %lld, last %lld",
          (long long)min_iter, (long long)eta, (long long)max_iter, (long long)num_epochs, n, (long long)r[0],
          (long long)r[n - 1]);
}

static void test_rungs(void) {
    check_rungs(1, 3, 3, 3, (const int64_t[]){1, 3}, 2);
    check_rungs(1, 3, 10, 10, (const int64_t[]){1, 3, 9, 10}, 4);
    check_rungs(1, 3, 9, 9, (const int64_t[]){1, 3, 9}, 3);
    check_rungs(1, 3, 3, 9, (const int64_t[]){1, 9}, 2);       /* no pause at or past max_iter: survivors go to the end */
    check_rungs(2, 2, 16, 16, (const int64_t[]){2, 4, 8, 16}, 4);
    check_rungs(1, 2, 2, 2, (const int64_t[]){1, 2}, 2);
    mrpc_fidelity off = {.enabled = 0, .num_epochs = 3};
    int64_t r[4];
    CHECK(mrpc_fidelity_rungs(&off, r, 4) == 1 && r[0] == 3, "without fidelity the only rung is the full run");
    mrpc_fidelity f = {.enabled = 1, .min_iter = 1, .eta = 3, .max_iter = 3, .num_epochs = 3};
    CHECK(mrpc_fidelity_pause_for(&f, 1) == 1 && mrpc_fidelity_pause_for(&f, 3) == 0, "pause_after_epoch of a rung");
}

/* ---- the study file ---------------------------------------------------------------- */

static const char head[] =
    "name: t\nseed: 5\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\n" /* 1-4 */
    "parameters:\n"                                                                           /* 5 */
    "  learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-4}\n"         /* 6 */
    "  weight_decay: {min: 0.0, max: 0.2}\n"                                                  /* 7 */
    "  num_epochs: {value: 3}\n"                                                              /* 8 */
    "stages:\n";                                                                              /* 9 */

static void test_study(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    char text[2048];
    snprintf(text, sizeof text, "%s  grid: {levels: 3, fidelity: {min_iter: 1, eta: 3, max_iter: 3, unit: epoch}}\n"
             "  bayes: {budget: 6}\n", head);
    if (CHECK(parse(text, &st, &err), "valid: %s", err.message)) {
        const mrpc_fidelity *g = mrpc_study_fidelity(&st, MRPC_STAGE_GRID), *b = mrpc_study_fidelity(&st, MRPC_STAGE_BAYES);
        CHECK(g->enabled && g->min_iter == 1 && g->eta == 3 && g->max_iter == 3 && g->num_epochs == 3, "grid block");
        CHECK(!b->enabled && !mrpc_study_fidelity(&st, MRPC_STAGE_SENSITIVITY)->enabled, "no block: full fidelity");
    }
    /* An empty block takes the defaults: min_iter 1, eta 3, max_iter = num_epochs. */
    snprintf(text, sizeof text, "%s  bayes: {budget: 6, fidelity: {}}\n", head);
    if (CHECK(parse(text, &st, &err), "empty block: %s", err.message)) {
        const mrpc_fidelity *b = mrpc_study_fidelity(&st, MRPC_STAGE_BAYES);
        CHECK(b->enabled && b->min_iter == 1 && b->eta == 3 && b->max_iter == 3, "defaults");
    }
    snprintf(text, sizeof text, "%s  grid:\n    fidelity:\n", head);
    CHECK(parse(text, &st, &err) && st.grid.fidelity.enabled && st.grid.fidelity.eta == 3, "null block: defaults");

    /* Impossible settings: each names the line and column of the value at fault. */
    static const struct {
        const char *stages;
        long        line, column;
        const char *field, *words;
    } bad[] = {
        {"  grid: {fidelity: {eta: 1}}\n", 10, 26, "eta", "at least 2"},
        {"  grid: {fidelity: {min_iter: 0}}\n", 10, 31, "min_iter", "at least 1"},
        {"  grid: {fidelity: {min_iter: 3}}\n", 10, 31, "min_iter", "below max_iter"},
        {"  grid: {fidelity: {min_iter: 2, max_iter: 2}}\n", 10, 31, "min_iter", "below max_iter"},
        {"  grid: {fidelity: {max_iter: 4}}\n", 10, 31, "max_iter", "more than the 3 epochs"},
        {"  grid: {fidelity: {unit: step}}\n", 10, 27, "unit", "unknown unit"},
        {"  grid: {fidelity: {rungs: [1, 3]}}\n", 10, 21, "rungs", "unknown key"},
        {"  grid: {fidelity: 3}\n", 10, 20, "fidelity", "expected a mapping"},
        {"  bayes:\n    budget: 4\n    fidelity: {eta: 0}\n", 12, 21, "eta", "at least 2"},
        {"  sensitivity: {fidelity: {}}\n", 10, 17, "fidelity", "full fidelity"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", head, bad[i].stages);
        memset(&err, 0, sizeof err);
        int ok = parse(text, &st, &err);
        CHECK(!ok && err.line == bad[i].line && err.column == bad[i].column && strcmp(err.field, bad[i].field) == 0 &&
                  strstr(err.message, bad[i].words) && strstr(err.file, "study.yaml"),
              "case %zu: %s:%ld:%ld: [%s] %s", i, err.file, err.line, err.column, err.field, err.message);
    }
    /* A searched num_epochs, an objective without a per-epoch value. */
    snprintf(text, sizeof text,
             "name: t\nobjective: {metric: accuracy, goal: maximize}\nbase_config: base.yaml\nparameters:\n"
             "  num_epochs: {values: [2, 3]}\nstages:\n  grid: {fidelity: {}}\n");
    int ok = parse(text, &st, &err);
    CHECK(!ok && err.line == 7 && err.column == 10 && strstr(err.message, "num_epochs is searched"),
          "searched num_epochs: %ld:%ld %s", err.line, err.column, err.message);
    snprintf(text, sizeof text,
             "name: t\nobjective: {metric: eval_loss, goal: minimize}\nbase_config: base.yaml\nparameters:\n"
             "  weight_decay: {min: 0.0, max: 0.2}\nstages:\n  grid: {fidelity: {}}\n");
    ok = parse(text, &st, &err);
    CHECK(!ok && err.line == 7 && strstr(err.message, "per-epoch"), "eval_loss: %ld:%ld %s", err.line,
          err.column, err.message);
    mrpc_fidelity f = {.enabled = 1, .min_iter = 1, .eta = 3, .max_iter = 3, .num_epochs = 3};
    char why[256];
    CHECK(mrpc_fidelity_check(&f, why, sizeof why), "check: valid");
    f.eta = 1;
    CHECK(!mrpc_fidelity_check(&f, why, sizeof why) && strstr(why, "eta"), "check: eta");
}

/* ---- promotions -------------------------------------------------------------------- */

typedef struct fake {
    char   id[32];
    double loss[4];
} fake;

/* A run paused at `target` (or completed at 3 when target is 3) with the loss after epochs 1..3. */
static mrpc_asha_run run_of(fake *f, const char *id, mrpc_asha_state state, int64_t target, double l1, double l2,
                            double l3) {
    snprintf(f->id, sizeof f->id, "%s", id);
    f->loss[0] = l1;
    f->loss[1] = l2;
    f->loss[2] = l3;
    size_t n = state == MRPC_ASHA_COMPLETED ? 3 : (size_t)target;
    if (state == MRPC_ASHA_FAILED) n = 0;
    return (mrpc_asha_run){.run_id = f->id, .state = state, .target = target, .n_epochs = n, .loss = f->loss,
                           .final_loss = state == MRPC_ASHA_COMPLETED ? l3 : NAN};
}

/* mrpc_asha_promotions, its count (SIZE_MAX when it fails). */
static size_t promos(const mrpc_asha_run *runs, size_t n_runs, const int64_t *rungs, size_t n_rungs, int64_t eta,
                     mrpc_asha_promotion *out, size_t cap) {
    size_t n = 0;
    mrpc_error err = {0};
    return CHECK_OK(mrpc_asha_promotions(runs, n_runs, rungs, n_rungs, eta, out, cap, &n, &err), &err) ? n : SIZE_MAX;
}

static void test_promotions(void) {
    static const int64_t rungs[] = {1, 3};
    fake f[12];
    mrpc_asha_run r[12];
    mrpc_asha_promotion p[12];
    /* Nine runs paused at epoch 1: the best three continue, to the end. */
    for (int i = 0; i < 9; i++) {
        char id[16];
        snprintf(id, sizeof id, "g-%02d", i);
        r[i] = run_of(&f[i], id, MRPC_ASHA_PAUSED, 1, 0.5 - 0.01 * ((i * 4) % 9), NAN, NAN);
    }
    size_t n = promos(r, 9, rungs, 2, 3, p, 12);
    /* losses: i*4 % 9 -> 0,4,8,3,7,2,6,1,5: the best are i = 2 (8), 4 (7), 6 (6). */
    CHECK(n == 3 && p[0].run == 2 && p[1].run == 4 && p[2].run == 6 && p[0].to_rung == 1, "top third: %zu", n);
    /* Async: two results are not enough for eta 3; three are. */
    CHECK(promos(r, 2, rungs, 2, 3, p, 12) == 0, "2 results: none yet");
    n = promos(r, 3, rungs, 2, 3, p, 12);
    CHECK(n == 1 && p[0].run == 2, "3 results: the best of them at once");
    /* Never twice: once run 2 aims at the end (promoted), the next one up is not promoted in its place. */
    r[2] = run_of(&f[2], "g-02", MRPC_ASHA_COMPLETED, 3, f[2].loss[0], 0.3, 0.2);
    n = promos(r, 9, rungs, 2, 3, p, 12);
    CHECK(n == 2 && p[0].run == 4 && p[1].run == 6, "promoted run counts at its rung, not again: %zu", n);
    r[2].state = MRPC_ASHA_RUNNING; /* promoted, still running: counts at rung 1 by its value there */
    n = promos(r, 9, rungs, 2, 3, p, 12);
    CHECK(n == 2 && p[0].run == 4, "a running promotion keeps its place");
    /* Ties: the same loss, the smaller run id first, whatever the order of the runs. */
    r[0] = run_of(&f[0], "b", MRPC_ASHA_PAUSED, 1, 0.2, NAN, NAN);
    r[1] = run_of(&f[1], "a", MRPC_ASHA_PAUSED, 1, 0.2, NAN, NAN);
    r[2] = run_of(&f[2], "c", MRPC_ASHA_PAUSED, 1, 0.2, NAN, NAN);
    n = promos(r, 3, rungs, 2, 3, p, 12);
    CHECK(n == 1 && p[0].run == 1, "tie broken by run id");
    /* Failures count as the worst member and are never promoted. */
    r[0] = run_of(&f[0], "x", MRPC_ASHA_FAILED, 1, NAN, NAN, NAN);
    r[1] = run_of(&f[1], "y", MRPC_ASHA_FAILED, 1, NAN, NAN, NAN);
    r[2] = run_of(&f[2], "z", MRPC_ASHA_PAUSED, 1, 0.9, NAN, NAN);
    n = promos(r, 3, rungs, 2, 3, p, 12);
    CHECK(n == 1 && p[0].run == 2, "two failures make the third run the best third");
    r[2] = run_of(&f[2], "z", MRPC_ASHA_FAILED, 1, NAN, NAN, NAN);
    CHECK(promos(r, 3, rungs, 2, 3, p, 12) == 0, "a failed run is never promoted");
    /* Several rungs (1, 3, 9 of 10 epochs): rung 3 promotes from its own members. */
    static const int64_t deep[] = {1, 3, 9, 10};
    for (int i = 0; i < 9; i++) {
        char id[16];
        snprintf(id, sizeof id, "d-%02d", i);
        r[i] = run_of(&f[i], id, MRPC_ASHA_PAUSED, i < 3 ? 3 : 1, 0.5 + 0.01 * i, 0.45, i < 3 ? 0.4 - 0.01 * i : NAN);
    }
    n = promos(r, 9, deep, 4, 3, p, 12);
    CHECK(n == 1 && p[0].run == 2 && p[0].from_rung == 1 && p[0].to_rung == 2,
          "rung 1 has promoted its 3 already; rung 3 promotes its best: %zu", n);
}

/* ---- planning from histories ------------------------------------------------------- */

static void add(mrpc_history *h, const mrpc_plan_task *t, int stage, int wave, mrpc_obs_state state, int64_t epochs,
                const double *acc) {
    mrpc_obs o;
    mrpc_obs_init(&o);
    snprintf(o.run_id, sizeof o.run_id, "%s", t->run_id);
    o.stage = stage;
    o.wave = wave;
    o.task = 0;
    memcpy(o.values, t->values, sizeof o.values);
    o.seed = t->seed;
    o.state = state;
    o.attempts = 1;
    o.pause_after_epoch = t->pause_after_epoch;
    o.epochs_done = epochs;
    o.paused_epoch = state == MRPC_OBS_PAUSED ? epochs : 0;
    for (int64_t e = 0; e < epochs; e++) o.epoch_accuracy[e] = acc[e];
    if (state == MRPC_OBS_COMPLETED) o.objective = acc[epochs - 1];
    mrpc_error err = {0};
    CHECK_OK(mrpc_history_add(h, &o, &err), &err);
}

/* The newest observation of run_id. */
static mrpc_obs *find(mrpc_history *h, const char *run_id) {
    for (size_t i = h->n_obs; i-- > 0;)
        if (strcmp(h->obs[i].run_id, run_id) == 0) return &h->obs[i];
    return NULL;
}

/* A learning curve from the configuration: weight decay matters, curves cross. */
static void curve(const double *v, double *acc) {
    double wd = v[1];
    acc[0] = 0.70 + 0.5 * wd;           /* high weight decay looks good early ... */
    acc[1] = 0.75 + 0.1 * wd;
    acc[2] = 0.80 - 0.3 * wd;           /* ... and is worse at the end */
}

static void test_plan_grid(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    char text[2048];
    snprintf(text, sizeof text, "%s  grid: {levels: 3, parameters: [weight_decay, learning_rate], fidelity: {eta: 3}}\n", head);
    if (!CHECK(parse(text, &st, &err), "%s", err.message)) return;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    mrpc_plan p;
    if (!CHECK_OK(mrpc_asha_plan(&st, &h, NULL, MRPC_STAGE_GRID, 0, &p, NULL, &err), &err)) return;
    CHECK(p.n_tasks == 9, "9 grid points (got %zu)", p.n_tasks);
    int all_pause = 1;
    for (size_t i = 0; i < p.n_tasks; i++) all_pause &= p.tasks[i].pause_after_epoch == 1;
    CHECK(all_pause, "new configurations pause after epoch 1");
    double acc[3];
    for (size_t i = 0; i < p.n_tasks; i++) {
        curve(p.tasks[i].values, acc);
        add(&h, &p.tasks[i], MRPC_STAGE_GRID, 0, MRPC_OBS_PAUSED, 1, acc);
    }
    mrpc_plan p1;
    if (!CHECK_OK(mrpc_asha_plan(&st, &h, NULL, MRPC_STAGE_GRID, 1, &p1, NULL, &err), &err)) return;
    /* The three runs of the highest weight decay (best after epoch 1; ties by run id) go on to the end. */
    CHECK(p1.n_tasks == 3, "3 promotions (got %zu: %s)", p1.n_tasks, p1.note);
    for (size_t i = 0; i < p1.n_tasks; i++) {
        const mrpc_obs *o = find(&h, p1.tasks[i].run_id);
        CHECK(o && o->values[1] == 0.2 && p1.tasks[i].pause_after_epoch == 0 && p1.tasks[i].seed == o->seed &&
                  memcmp(o->values, p1.tasks[i].values, sizeof o->values) == 0,
              "promotion %zu: %s, same run, values and seed, to the end", i, p1.tasks[i].run_id);
    }
    CHECK(strstr(p1.note, "3 promoted") != NULL, "note: %s", p1.note);
    /* The promotions ran: the earlier tasks are superseded; nothing is left to do. */
    for (size_t i = 0; i < p1.n_tasks; i++) {
        find(&h, p1.tasks[i].run_id)->state = MRPC_OBS_RETRIED;
        curve(p1.tasks[i].values, acc);
        add(&h, &p1.tasks[i], MRPC_STAGE_GRID, 1, MRPC_OBS_COMPLETED, 3, acc);
    }
    mrpc_plan p2;
    if (CHECK_OK(mrpc_asha_plan(&st, &h, NULL, MRPC_STAGE_GRID, 2, &p2, NULL, &err), &err))
        CHECK(p2.n_tasks == 0, "the stage is over: %zu tasks (%s)", p2.n_tasks, p2.note);
    CHECK(mrpc_asha_epochs_spent(&st, &h, MRPC_STAGE_GRID) == 9 + 3 * 2, "epochs: 9 at rung 1, 3 x 2 more: %lld",
          (long long)mrpc_asha_epochs_spent(&st, &h, MRPC_STAGE_GRID));
    /* A promotion whose record is still paused before its target has not run: not chosen again. */
    mrpc_history h2;
    memset(&h2, 0, sizeof h2);
    for (size_t i = 0; i < p.n_tasks; i++) {
        curve(p.tasks[i].values, acc);
        add(&h2, &p.tasks[i], MRPC_STAGE_GRID, 0, MRPC_OBS_PAUSED, 1, acc);
    }
    for (size_t i = 0; i < p1.n_tasks; i++) {
        find(&h2, p1.tasks[i].run_id)->state = MRPC_OBS_RETRIED;
        curve(p1.tasks[i].values, acc);
        add(&h2, &p1.tasks[i], MRPC_STAGE_GRID, 1, MRPC_OBS_PAUSED, 1, acc);
    }
    mrpc_plan p3;
    if (CHECK_OK(mrpc_asha_plan(&st, &h2, NULL, MRPC_STAGE_GRID, 2, &p3, NULL, &err), &err))
        CHECK(p3.n_tasks == 0, "promotions not run yet are not planned twice: %zu", p3.n_tasks);
    mrpc_plan_free(&p);
    mrpc_plan_free(&p1);
    mrpc_plan_free(&p2);
    mrpc_plan_free(&p3);
    mrpc_history_free(&h);
    mrpc_history_free(&h2);
}

static void test_plan_bayes(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    char text[2048];
    snprintf(text, sizeof text, "%s  bayes: {budget: 9, wave_size: 3, candidates: 64, restarts: 1, fidelity: {}}\n", head);
    if (!CHECK(parse(text, &st, &err), "%s", err.message)) return;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    size_t waves = 0, new_total = 0, promoted_total = 0;
    int twice = 0;
    char promoted[16][129];
    size_t n_promoted = 0;
    for (int wave = 0; wave < 12; wave++) {
        mrpc_plan p;
        if (!CHECK_OK(mrpc_asha_plan(&st, &h, NULL, MRPC_STAGE_BAYES, wave, &p, NULL, &err), &err)) break;
        if (p.n_tasks == 0) { mrpc_plan_free(&p); break; }
        waves++;
        if (getenv("FIDELITY_DEBUG")) fprintf(stderr, "wave %d: %s\n", wave, p.note);
        double acc[3];
        for (size_t i = 0; i < p.n_tasks; i++) {
            mrpc_obs *prev = find(&h, p.tasks[i].run_id);
            curve(p.tasks[i].values, acc);
            if (prev) {
                for (size_t j = 0; j < n_promoted; j++) twice |= strcmp(promoted[j], p.tasks[i].run_id) == 0;
                if (n_promoted < 16) snprintf(promoted[n_promoted++], 129, "%s", p.tasks[i].run_id);
                prev->state = MRPC_OBS_RETRIED;
                promoted_total++;
                CHECK(p.tasks[i].pause_after_epoch == 0, "a promotion from epoch 1 goes to the end");
                add(&h, &p.tasks[i], MRPC_STAGE_BAYES, wave, MRPC_OBS_COMPLETED, 3, acc);
            } else {
                new_total++;
                CHECK(p.tasks[i].pause_after_epoch == 1, "new configurations pause after epoch 1");
                add(&h, &p.tasks[i], MRPC_STAGE_BAYES, wave, MRPC_OBS_PAUSED, 1, acc);
            }
        }
        mrpc_plan_free(&p);
    }
    CHECK(!twice, "no run promoted twice");
    CHECK(new_total == 9, "the budget counts new configurations: %zu", new_total);
    /* Asynchronous: a rung promotes its best third as it fills, so a run that was best among
     * the first three stays promoted even when later runs beat it: 3 or more, never all. */
    CHECK(promoted_total >= 3 && promoted_total <= 5, "9 results at epoch 1 -> 3..5 promoted (got %zu)", promoted_total);
    /* The best three after epoch 1 (ties: the smaller run id) all went to the end. */
    for (size_t i = 0; i < h.n_obs; i++) {
        const mrpc_obs *o = &h.obs[i];
        if (o->state == MRPC_OBS_RETRIED) continue;
        size_t better = 0;
        for (size_t j = 0; j < h.n_obs; j++) {
            const mrpc_obs *x = &h.obs[j];
            if (x->state == MRPC_OBS_RETRIED) continue;
            better += x->epoch_accuracy[0] > o->epoch_accuracy[0] ||
                      (x->epoch_accuracy[0] == o->epoch_accuracy[0] && strcmp(x->run_id, o->run_id) < 0);
        }
        if (better < 3) CHECK(o->state == MRPC_OBS_COMPLETED, "%s is in the top third after epoch 1: promoted", o->run_id);
    }
    CHECK(waves >= 4 && waves <= 6, "waves: %zu", waves);
    /* BOHB: the highest rung with enough runs (d + 2 in the planner): one more than completed -> epoch 1. */
    mrpc_history view;
    int64_t rung = 0;
    size_t n_at = 0;
    if (CHECK_OK(mrpc_asha_rung_view(&st, &h, MRPC_STAGE_BAYES, promoted_total + 1, &view, &rung, &n_at, &err), &err)) {
        CHECK(rung == 1 && n_at == 9, "rung 1 with 9 runs (got %lld, %zu)", (long long)rung, n_at);
        size_t completed = 0, retried = 0;
        for (size_t i = 0; i < view.n_obs; i++) {
            completed += view.obs[i].state == MRPC_OBS_COMPLETED;
            retried += view.obs[i].state == MRPC_OBS_RETRIED;
            if (view.obs[i].state == MRPC_OBS_COMPLETED)
                CHECK(view.obs[i].objective == 0.70 + 0.5 * view.obs[i].values[1], "objective after epoch 1");
        }
        CHECK(completed == 9 && retried == promoted_total, "every run at its epoch-1 value: %zu", completed);
        mrpc_history_free(&view);
    }
    if (CHECK_OK(mrpc_asha_rung_view(&st, &h, MRPC_STAGE_BAYES, promoted_total, &view, &rung, &n_at, &err), &err)) {
        CHECK(rung == 3 && n_at == promoted_total, "3 needed: the top rung (got %lld, %zu)", (long long)rung, n_at);
        size_t pending = 0;
        for (size_t i = 0; i < view.n_obs; i++) pending += view.obs[i].state == MRPC_OBS_PENDING;
        CHECK(pending == 9 - promoted_total, "runs stopped below the rung are not modelled: %zu", pending);
        mrpc_history_free(&view);
    }
    mrpc_history_free(&h);
}

/*
 * The multi-fidelity model (mf_model.h) ranks a rung by the predicted final value: curves
 * that cross (high weight decay looks best after epoch 1 and is worst at the end, learned
 * from four runs that went to the end) make it promote the paused run with the lowest weight
 * decay, which plain ASHA (the value after epoch 1) never would; and it promotes only what
 * the rung's quota floor(n / eta) leaves.
 */
static void test_mf_promotion(void) {
    static mrpc_study st;
    mrpc_error err = {0};
    char text[2048];
    snprintf(text, sizeof text, "%s  bayes: {budget: 10, wave_size: 4, fidelity: {eta: 2, max_iter: 2}}\n", head);
    if (!CHECK(parse(text, &st, &err), "%s", err.message)) return;
    mrpc_history h;
    memset(&h, 0, sizeof h);
    const double done[] = {0.01, 0.07, 0.13, 0.19}, paused[] = {0.02, 0.05, 0.09, 0.12, 0.16, 0.18};
    for (size_t i = 0; i < 10; i++) {
        mrpc_plan_task t;
        memset(&t, 0, sizeof t);
        snprintf(t.run_id, sizeof t.run_id, "bayes-00-%03zu", i);
        t.values[0] = 3.0e-5;
        t.values[1] = i < 4 ? done[i] : paused[i - 4];
        t.values[2] = 3;
        t.pause_after_epoch = i < 4 ? 0 : 1;
        double acc[3];
        curve(t.values, acc);
        add(&h, &t, MRPC_STAGE_BAYES, 0, i < 4 ? MRPC_OBS_COMPLETED : MRPC_OBS_PAUSED, i < 4 ? 3 : 1, acc);
    }
    int64_t rungs[MRPC_FIDELITY_MAX_RUNGS];
    size_t nr = mrpc_fidelity_rungs(mrpc_study_fidelity(&st, MRPC_STAGE_BAYES), rungs, MRPC_FIDELITY_MAX_RUNGS);
    CHECK(nr == 2 && rungs[0] == 1 && rungs[1] == 3, "rungs 1, 3 (got %zu)", nr);
    mrpc_asha_run runs[10];
    size_t idx[10], n_promo = 0;
    double loss[10 * MRPC_OBS_MAX_EPOCHS];
    mrpc_asha_promotion promo[10];
    size_t n = mrpc_asha_runs(&st, &h, MRPC_STAGE_BAYES, runs, idx, loss);
    CHECK(n == 10, "10 runs (got %zu)", n);
    /* Plain ASHA: the top 5 after epoch 1 hold three paused runs of high weight decay. */
    if (CHECK_OK(mrpc_asha_promotions(runs, n, rungs, nr, 2, promo, 10, &n_promo, &err), &err)) {
        int low = 0;
        for (size_t i = 0; i < n_promo; i++) low |= h.obs[idx[promo[i].run]].values[1] < 0.1;
        CHECK(n_promo == 3 && !low, "by the value after epoch 1: 3 promotions, all of high weight decay (got %zu)", n_promo);
    }
    mrpc_mf_model m;
    if (CHECK_OK(mrpc_mf_fit(&st, &h, MRPC_STAGE_BAYES, NULL, &m, &err), &err)) {
        CHECK(m.fitted && m.n_runs == 10 && m.n_points == 14, "fitted on 10 runs, 14 rung values (%d, %zu, %zu)", m.fitted,
              m.n_runs, m.n_points);
        double v_lo[MRPC_SPACE_MAX_PARAMS] = {3.0e-5, 0.02, 3}, v_hi[MRPC_SPACE_MAX_PARAMS] = {3.0e-5, 0.18, 3};
        double lo, hi, sd;
        mrpc_mf_predict_final(&m, &st, v_lo, &lo, &sd);
        mrpc_mf_predict_final(&m, &st, v_hi, &hi, NULL);
        /* Final accuracies 0.794 and 0.746 (losses -0.794, -0.746). */
        CHECK(lo < hi - 0.02, "predicted final loss: weight decay 0.02 %.4f, 0.18 %.4f", lo, hi);
        CHECK(fabs(lo + 0.794) < 0.02 && sd > 0 && sd < 0.05, "near the true final 0.794: %.4f +- %.4f", -lo, sd);
        double mean;
        long best = mrpc_mf_recommend(&m, &st, &h, MRPC_STAGE_BAYES, &mean);
        CHECK(best == 0 && fabs(mean - 0.797) < 0.02, "recommended: the completed run of weight decay 0.01 (%ld, %.4f)",
              best, mean);
        mrpc_mf_free(&m);
    }
    if (CHECK_OK(mrpc_asha_score_runs(&st, &h, MRPC_STAGE_BAYES, NULL, runs, idx, n, &err), &err) &&
        CHECK_OK(mrpc_asha_promotions(runs, n, rungs, nr, 2, promo, 10, &n_promo, &err), &err)) {
        /* 10 at epoch 1 -> quota 5, 4 already went on: 1 promotion, the lowest weight decay. */
        CHECK(n_promo == 1 && h.obs[idx[promo[0].run]].values[1] == 0.02,
              "by the predicted final value: the paused run of weight decay 0.02 (%zu promotions, first %.2f)", n_promo,
              n_promo ? h.obs[idx[promo[0].run]].values[1] : NAN);
    }
    /* The planner with the model (budget spent): that one promotion, to the end. */
    mrpc_plan p;
    if (CHECK_OK(mrpc_asha_plan_model(&st, &h, NULL, MRPC_STAGE_BAYES, 1, 3, &p, NULL, &err), &err)) {
        CHECK(p.n_tasks == 1 && strcmp(p.tasks[0].run_id, "bayes-00-004") == 0 && p.tasks[0].pause_after_epoch == 0,
              "planned: bayes-00-004 to the end (%zu tasks, first %s)", p.n_tasks, p.n_tasks ? p.tasks[0].run_id : "-");
        mrpc_plan_free(&p);
    }
    mrpc_history_free(&h);
}

int main(void) {
    study_fixture_minimal_base(mrpc_test_tmpdir(), study_file, sizeof study_file);
    test_rungs();
    test_study();
    test_promotions();
    test_plan_grid();
    test_plan_bayes();
    test_mf_promotion();
    return mrpc_test_report();
}
