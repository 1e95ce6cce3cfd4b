/* wandb_sweep.c — a W&B sweep file as a study (see wandb_sweep.h). */
#define _POSIX_C_SOURCE 200809L
#include "wandb_sweep.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fidelity.h"
#include "fsutil.h"
#include "stages.h"
#include "strutil.h"

int mrpc_wandb_is_sweep(const mrpc_yaml_doc *doc, const yaml_node_t *root) {
    return root && root->type == YAML_MAPPING_NODE && mrpc_yaml_map_get(doc, root, "method") != NULL;
}

/* Appends "file:line:column: text" to st->notes (a line that does not fit is cut). */
static void note(const mrpc_yaml_doc *doc, const yaml_node_t *node, mrpc_study *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void note(const mrpc_yaml_doc *doc, const yaml_node_t *node, mrpc_study *st, const char *fmt, ...) {
    size_t len = strlen(st->notes);
    if (len + 2 >= sizeof st->notes) return;
    char *p = st->notes + len;
    size_t room = sizeof st->notes - len;
    int n = snprintf(p, room, "%s:%ld:%ld: ", mrpc_yaml_name(doc), node ? (long)node->start_mark.line + 1 : 1L,
                     node ? (long)node->start_mark.column + 1 : 1L);
    if (n < 0 || (size_t)n >= room - 1) { *p = '\0'; return; }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(p + n, room - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0) { *p = '\0'; return; }
    len = strlen(st->notes);
    if (len + 1 < sizeof st->notes) {
        st->notes[len] = '\n';
        st->notes[len + 1] = '\0';
    } else {
        st->notes[len - 1] = '\n';
    }
}

static mrpc_status int_key(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *key, int64_t lo, int64_t hi,
                           int64_t *out, mrpc_error *err) {
    const yaml_node_t *n = mrpc_yaml_map_get(doc, map, key);
    if (!n) return MRPC_OK;
    int64_t v;
    mrpc_status r = mrpc_yaml_get_i64(doc, n, key, &v, err);
    if (r != MRPC_OK) return r;
    if (v < lo || v > hi) {
        return mrpc_yaml_error_at(doc, n, err, MRPC_ERR_INVALID, key, "must be %lld..%lld, got %lld", (long long)lo,
                                  (long long)hi, (long long)v);
    }
    *out = v;
    return MRPC_OK;
}

/* W&B metric names -> the study's objectives. */
static const struct { const char *wandb, *metric; } metric_names[] = {
    {"accuracy", "accuracy"},           {"eval/accuracy", "accuracy"},       {"eval_accuracy", "accuracy"},
    {"f1", "f1"},                       {"eval/f1", "f1"},                   {"eval_f1", "f1"},
    {"loss", "eval_loss"},              {"eval/loss", "eval_loss"},          {"eval_loss", "eval_loss"},
    {"best_accuracy", "best_accuracy"}, {"train_seconds", "train_seconds"}, {"train/train_runtime", "train_seconds"},
    {"train_runtime", "train_seconds"}, {"tokens_per_second", "tokens_per_second"},
};

static mrpc_status read_metric(const mrpc_yaml_doc *doc, const yaml_node_t *root, mrpc_study *st, mrpc_error *err) {
    const yaml_node_t *m = mrpc_yaml_map_get(doc, root, "metric");
    if (!m) {
        mrpc_str_copy(st->metric, sizeof st->metric, "accuracy");
        st->maximize = 1;
        note(doc, root, st, "metric: none given; the objective is accuracy, maximized");
        return MRPC_OK;
    }
    if (m->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(doc, m, err, MRPC_ERR_INVALID, "metric", "expected a mapping {name, goal}");
    }
    const char *key;
    const yaml_node_t *kn, *v;
    for (size_t i = 0; mrpc_yaml_map_at(doc, m, i, &key, &kn, &v); i++) {
        if (strcmp(key, "name") && strcmp(key, "goal") && strcmp(key, "target")) {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key, "unknown key in metric (expected: name, goal, target)");
        }
    }
    const yaml_node_t *name = mrpc_yaml_map_get(doc, m, "name");
    if (!name) return mrpc_yaml_error_at(doc, m, err, MRPC_ERR_INVALID, "name", "missing key name (the metric, e.g. eval/accuracy)");
    const char *nm = mrpc_yaml_scalar(name);
    int found = 0;
    for (size_t i = 0; nm && i < sizeof metric_names / sizeof metric_names[0] && !found; i++) {
        if (strcmp(nm, metric_names[i].wandb) == 0) {
            mrpc_str_copy(st->metric, sizeof st->metric, metric_names[i].metric);
            found = 1;
        }
    }
    if (!found) {
        return mrpc_yaml_error_at(doc, name, err, MRPC_ERR_INVALID, "name",
                                  "unknown metric \"%s\": the runs record accuracy (eval/accuracy), f1 (eval/f1), "
                                  "eval_loss (eval/loss), best_accuracy, train_seconds (train/train_runtime) and "
                                  "tokens_per_second", nm ? nm : "");
    }
    const yaml_node_t *g = mrpc_yaml_map_get(doc, m, "goal");
    const char *gs = g ? mrpc_yaml_scalar(g) : NULL;
    if (!g) {
        st->maximize = 0;
        int fraction = strcmp(st->metric, "accuracy") == 0 || strcmp(st->metric, "f1") == 0 ||
                       strcmp(st->metric, "best_accuracy") == 0;
        if (fraction) {
            note(doc, m, st, "metric: no goal; W&B's default, minimize, applies (minimizing %s is almost certainly not "
                             "what you want: add goal: maximize)", st->metric);
        } else {
            note(doc, m, st, "metric: no goal; W&B's default, minimize, applies");
        }
    } else if (gs && strcmp(gs, "maximize") == 0) {
        st->maximize = 1;
    } else if (gs && strcmp(gs, "minimize") == 0) {
        st->maximize = 0;
    } else {
        return mrpc_yaml_error_at(doc, g, err, MRPC_ERR_INVALID, "goal", "expected maximize or minimize");
    }
    const yaml_node_t *t = mrpc_yaml_map_get(doc, m, "target");
    if (t) note(doc, t, st, "metric.target: has no meaning here: the study spends its whole budget, it does not stop at a target");
    return MRPC_OK;
}

static mrpc_status read_early_terminate(const mrpc_yaml_doc *doc, const yaml_node_t *et, mrpc_wandb_sweep *sw,
                                        mrpc_study *st, mrpc_error *err) {
    if (et->type != YAML_MAPPING_NODE) {
        return mrpc_yaml_error_at(doc, et, err, MRPC_ERR_INVALID, "early_terminate",
                                  "expected a mapping {type: hyperband, min_iter, eta}");
    }
    const char *key;
    const yaml_node_t *kn, *v;
    for (size_t i = 0; mrpc_yaml_map_at(doc, et, i, &key, &kn, &v); i++) {
        static const char *const ok[] = {"type", "min_iter", "max_iter", "s", "eta", "strict"};
        int known = 0;
        for (size_t j = 0; j < sizeof ok / sizeof ok[0]; j++) known |= strcmp(ok[j], key) == 0;
        if (!known) {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key,
                                      "unknown key in early_terminate (expected: type, min_iter, max_iter, s, eta, strict)");
        }
    }
    const yaml_node_t *type = mrpc_yaml_map_get(doc, et, "type");
    const char *ts = type ? mrpc_yaml_scalar(type) : NULL;
    if (!type) return mrpc_yaml_error_at(doc, et, err, MRPC_ERR_INVALID, "type", "missing key type (hyperband)");
    if (!ts || strcmp(ts, "hyperband") != 0) {
        return mrpc_yaml_error_at(doc, type, err, MRPC_ERR_INVALID, "type",
                                  "early_terminate type \"%s\" is not supported: only hyperband (successive halving over "
                                  "epochs, the stage's fidelity block)", ts ? ts : "");
    }
    sw->hyperband = 1;
    sw->et_node = et;
    sw->eta = 3;
    int64_t s = -1;
    mrpc_status r;
    if ((r = int_key(doc, et, "eta", 2, 1000, &sw->eta, err)) != MRPC_OK) return r;
    if ((r = int_key(doc, et, "min_iter", 1, 1000000, &sw->min_iter, err)) != MRPC_OK) return r;
    if ((r = int_key(doc, et, "max_iter", 1, 1000000, &sw->max_iter, err)) != MRPC_OK) return r;
    if ((r = int_key(doc, et, "s", 0, 60, &s, err)) != MRPC_OK) return r;
    const yaml_node_t *sn = mrpc_yaml_map_get(doc, et, "s");
    if (sn && !sw->max_iter) {
        return mrpc_yaml_error_at(doc, sn, err, MRPC_ERR_INVALID, "s", "s (brackets) goes with max_iter; give max_iter too, or min_iter alone");
    }
    if (!sw->min_iter && sw->max_iter && s >= 0) {
        /* W&B's brackets below max_iter: max_iter / eta, max_iter / eta^2, ..., s of them. */
        int64_t m = sw->max_iter;
        for (int64_t i = 0; i < s; i++) {
            if (m % sw->eta != 0) {
                return mrpc_yaml_error_at(doc, sn, err, MRPC_ERR_INVALID, "s",
                                          "max_iter %lld / eta^%lld is not a whole number of epochs; give min_iter instead",
                                          (long long)sw->max_iter, (long long)s);
            }
            m /= sw->eta;
        }
        sw->min_iter = m;
    }
    if (!sw->min_iter) sw->min_iter = 1;
    const yaml_node_t *strict = mrpc_yaml_map_get(doc, et, "strict");
    if (strict) {
        note(doc, strict, st, "early_terminate.strict: has no meaning here: each rung promotes the best 1/eta of its runs "
                              "(asynchronous successive halving) either way");
    }
    return MRPC_OK;
}

mrpc_status mrpc_wandb_sweep_read(const mrpc_yaml_doc *doc, const yaml_node_t *root, const char *study_file,
                                  mrpc_wandb_sweep *sw, mrpc_study *st, mrpc_error *err) {
    memset(sw, 0, sizeof *sw);
    st->wandb = 1;
    const char *key;
    const yaml_node_t *kn, *v;
    static const char *const wandb_keys[] = {"method", "metric", "parameters", "run_cap", "early_terminate", "name",
                                             "program", "command", "entity", "project", "description", "controller"};
    static const char *const study_keys[] = {"base_config", "study_dir", "runs_dir", "seed", "retries", "slurm"};
    for (size_t i = 0; mrpc_yaml_map_at(doc, root, i, &key, &kn, &v); i++) {
        int known = 0;
        for (size_t j = 0; j < sizeof wandb_keys / sizeof wandb_keys[0]; j++) known |= strcmp(wandb_keys[j], key) == 0;
        for (size_t j = 0; j < sizeof study_keys / sizeof study_keys[0]; j++) known |= strcmp(study_keys[j], key) == 0;
        if (known) continue;
        if (strcmp(key, "objective") == 0) {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key,
                                      "a W&B sweep file gives the objective as metric: {name, goal}, not objective:");
        }
        if (strcmp(key, "stages") == 0) {
            return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key,
                                      "a W&B sweep file's stage comes from method:; to list stages (sensitivity, grid, "
                                      "bayes, confirm) write a study file without method: (optimize/README.md)");
        }
        return mrpc_yaml_error_at(doc, kn, err, MRPC_ERR_INVALID, key,
                                  "unknown key in a W&B sweep file (W&B: method, metric, parameters, run_cap, "
                                  "early_terminate, name, program, command, entity, project, description, controller; "
                                  "study: base_config, study_dir, runs_dir, seed, retries, slurm)");
    }
    const yaml_node_t *m = mrpc_yaml_map_get(doc, root, "method");
    const char *ms = mrpc_yaml_scalar(m);
    sw->method_node = m;
    if (ms && strcmp(ms, "grid") == 0) sw->method = MRPC_WANDB_GRID;
    else if (ms && strcmp(ms, "random") == 0) sw->method = MRPC_WANDB_RANDOM;
    else if (ms && strcmp(ms, "bayes") == 0) sw->method = MRPC_WANDB_BAYES;
    else {
        return mrpc_yaml_error_at(doc, m, err, MRPC_ERR_INVALID, "method", "unknown method \"%s\" (expected grid, random or bayes)",
                                  ms ? ms : "");
    }
    mrpc_status r = read_metric(doc, root, st, err);
    if (r != MRPC_OK) return r;
    sw->run_cap_node = mrpc_yaml_map_get(doc, root, "run_cap");
    if ((r = int_key(doc, root, "run_cap", 1, 100000, &sw->run_cap, err)) != MRPC_OK) return r;
    if (!sw->run_cap && sw->method != MRPC_WANDB_GRID) {
        return mrpc_yaml_error_at(doc, m, err, MRPC_ERR_INVALID, "run_cap",
                                  "method: %s needs run_cap, the budget in runs (W&B would go on until stopped; a batch "
                                  "study needs an end)", ms);
    }
    const yaml_node_t *et = mrpc_yaml_map_get(doc, root, "early_terminate");
    if (et && (r = read_early_terminate(doc, et, sw, st, err)) != MRPC_OK) return r;

    /* name: the study's when it is safe. */
    const yaml_node_t *nn = mrpc_yaml_map_get(doc, root, "name");
    if (nn) {
        const char *name = mrpc_yaml_scalar(nn);
        if (name && mrpc_name_is_safe(name) && mrpc_str_copy(st->name, sizeof st->name, name)) {
            /* used as it is */
        } else {
            note(doc, nn, st, "name: \"%.60s\" is not a safe study name ([A-Za-z0-9._-]); the study is named after its file",
                 name ? name : "");
        }
    }
    static const struct { const char *key, *why; } ignored[] = {
        {"program", "every run is mrpc-train with the base config and the run's values"},
        {"command", "every run is mrpc-train with the base config and the run's values"},
        {"entity", "results stay in the study directory, runs/ and waves/; nothing is sent to W&B"},
        {"project", "results stay in the study directory, runs/ and waves/; nothing is sent to W&B"},
        {"description", "it is not stored"},
        {"controller", "mrpc-optimize plans every wave itself"},
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        const yaml_node_t *n = mrpc_yaml_map_get(doc, root, ignored[i].key);
        if (n) note(doc, n, st, "%s: has no meaning here (%s)", ignored[i].key, ignored[i].why);
    }

    /* The base config: the key, else base.yaml next to the sweep file. */
    if (!mrpc_yaml_map_get(doc, root, "base_config")) {
        char path[MRPC_STUDY_PATH_MAX + 16];
        const char *slash = strrchr(study_file, '/');
        int dir_len = slash ? (int)(slash - study_file) : 0;
        snprintf(path, sizeof path, "%.*s/base.yaml", dir_len, study_file);
        if (!mrpc_path_exists(path)) {
            return mrpc_yaml_error_at(doc, root, err, MRPC_ERR_INVALID, "base_config",
                                      "a W&B sweep file names no base config (the run config with the fixed settings: "
                                      "model, data, num_epochs): add base_config: FILE, or put a base.yaml next to it "
                                      "(mrpc-pipeline init DIR writes one)");
        }
        mrpc_str_copy(sw->base_config, sizeof sw->base_config, "base.yaml");
        note(doc, root, st, "base_config: none given; using base.yaml next to the sweep file");
    }
    return MRPC_OK;
}

mrpc_status mrpc_wandb_sweep_stages(const mrpc_yaml_doc *doc, const yaml_node_t *root, const mrpc_wandb_sweep *sw,
                                    mrpc_study *st, mrpc_error *err) {
    int searchable = 0;
    for (size_t i = 0; i < st->space.n_params; i++) searchable |= mrpc_param_is_searchable(&st->space.params[i]);
    if (!searchable) {
        return mrpc_yaml_error_at(doc, mrpc_yaml_map_get(doc, root, "parameters"), err, MRPC_ERR_INVALID, "parameters",
                                  "every parameter has a single value: nothing to search");
    }
    mrpc_fidelity *f;
    if (sw->method == MRPC_WANDB_GRID) {
        st->has_stage[MRPC_STAGE_GRID] = 1;
        f = &st->grid.fidelity;
        size_t idx[MRPC_SPACE_MAX_PARAMS], n_values[MRPC_SPACE_MAX_PARAMS];
        double values[MRPC_SPACE_MAX_PARAMS][MRPC_SPACE_MAX_VALUES];
        size_t d = mrpc_stage_parameters(st, MRPC_STAGE_GRID, NULL, idx);
        size_t points = mrpc_grid_values(st, NULL, idx, d, n_values, values);
        char ranged[256] = "";
        for (size_t i = 0; i < d; i++) {
            const mrpc_param *p = &st->space.params[idx[i]];
            if (p->dist == MRPC_DIST_CATEGORICAL) continue;
            size_t len = strlen(ranged);
            snprintf(ranged + len, sizeof ranged - len, "%s%s", len ? ", " : "", p->name);
        }
        if (ranged[0]) {
            note(doc, sw->method_node, st, "method: grid over a range (%s): W&B refuses that; here the grid takes %lld "
                                           "values spread over each range", ranged, (long long)st->grid.levels);
        }
        if (sw->run_cap && (size_t)sw->run_cap < points) {
            return mrpc_yaml_error_at(doc, sw->run_cap_node, err, MRPC_ERR_INVALID, "run_cap",
                                      "the grid has %zu points and run_cap is %lld: W&B would run an arbitrary subset; "
                                      "raise run_cap to %zu or give fewer values", points, (long long)sw->run_cap, points);
        }
        if (sw->run_cap && (size_t)sw->run_cap > points) {
            note(doc, sw->run_cap_node, st, "run_cap: %lld is more than the grid's %zu points; the grid ends after them",
                 (long long)sw->run_cap, points);
        }
    } else {
        st->has_stage[MRPC_STAGE_BAYES] = 1;
        f = &st->bayes.fidelity;
        st->bayes.budget = sw->run_cap;
        if (sw->method == MRPC_WANDB_RANDOM) {
            st->bayes.init_points = sw->run_cap;
            note(doc, sw->method_node, st, "method: random runs as the bayes stage with init_points = run_cap (%lld): "
                                           "every run comes from its initial design, a randomly shifted Halton sequence "
                                           "(quasi-random, more even than independent draws); no model",
                 (long long)sw->run_cap);
        }
    }
    if (!sw->hyperband) return MRPC_OK;
    /* early_terminate -> the stage's fidelity block (fidelity.h). */
    const mrpc_hparam *ne = mrpc_study_fixed(st, "num_epochs");
    if (!ne || ne->kind != MRPC_VALUE_INT) {
        return mrpc_yaml_error_at(doc, sw->et_node, err, MRPC_ERR_INVALID, "early_terminate",
                                  "hyperband needs a fixed num_epochs (the full run), but num_epochs is searched");
    }
    if (strcmp(st->metric, "accuracy") != 0 && strcmp(st->metric, "f1") != 0 && strcmp(st->metric, "best_accuracy") != 0) {
        return mrpc_yaml_error_at(doc, sw->et_node, err, MRPC_ERR_INVALID, "early_terminate",
                                  "hyperband ranks runs after an epoch; %s has no per-epoch value (use accuracy, f1 or "
                                  "best_accuracy)", st->metric);
    }
    memset(f, 0, sizeof *f);
    f->enabled = 1;
    f->min_iter = sw->min_iter;
    f->eta = sw->eta;
    f->num_epochs = ne->i;
    f->max_iter = sw->max_iter ? sw->max_iter : ne->i;
    f->unit = MRPC_FIDELITY_EPOCH;
    char why[256];
    if (!mrpc_fidelity_check(f, why, sizeof why)) {
        return mrpc_yaml_error_at(doc, sw->et_node, err, MRPC_ERR_INVALID, "early_terminate", "%s", why);
    }
    note(doc, sw->et_node, st, "early_terminate: hyperband over epochs (W&B counts logged steps; the runs log the metric "
                               "once per epoch): min_iter %lld, eta %lld, max_iter %lld of %lld epochs",
         (long long)f->min_iter, (long long)f->eta, (long long)f->max_iter, (long long)f->num_epochs);
    return MRPC_OK;
}
