/* confirmation.c — the confirm stage's answer as a report table (see confirmation.h). */
#include "confirmation.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "strutil.h"
#include "yaml_doc.h"

/* A number of the answer (null or absent: NaN). */
static double num(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *key) {
    const yaml_node_t *n = map ? mrpc_yaml_map_get(doc, map, key) : NULL;
    double v = NAN;
    if (!n || mrpc_yaml_is_null(n)) return NAN;
    mrpc_error err = {0};
    if (mrpc_yaml_get_f64(doc, n, key, &v, &err) != MRPC_OK) return NAN;
    return v;
}

static const char *str(const mrpc_yaml_doc *doc, const yaml_node_t *map, const char *key) {
    const yaml_node_t *n = map ? mrpc_yaml_map_get(doc, map, key) : NULL;
    const char *s = n ? mrpc_yaml_scalar(n) : NULL;
    return s ? s : "";
}

void mrpc_confirmation_table(const mrpc_runset *s, mrpc_table *t) {
    mrpc_table_init(t, "confirmation", "Confirmation: the recommendation against the baseline over new seeds");
    static const char *const cols[] = {"configuration", "answer", "values", "seeds", "mean", "sd", "diff vs baseline",
                                       "ci95 low", "ci95 high", "p (t-test)", "p (sign)", "p (Wilcoxon)"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) mrpc_table_add_col(t, cols[i], i >= 3);
    char path[MRPC_RUNSET_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/answer.yaml", s->root);
    if (!mrpc_path_exists(path)) {
        snprintf(t->note, sizeof t->note, "No answer.yaml: the study has no confirm stage, or it has not finished.");
        return;
    }
    mrpc_yaml_doc *doc = NULL;
    mrpc_error err = {0};
    if (mrpc_yaml_load_file(path, &doc, &err) != MRPC_OK) {
        char msg[600];
        mrpc_error_format(&err, msg, sizeof msg);
        snprintf(t->note, sizeof t->note, "answer.yaml could not be read: %s", msg);
        return;
    }
    const yaml_node_t *root = mrpc_yaml_root(doc);
    const char *objective = str(doc, root, "objective");
    int points = !strcmp(objective, "accuracy") || !strcmp(objective, "f1") || !strcmp(objective, "best_accuracy");
    double scale = points ? 100 : 1;
    int digits = points ? 2 : -4;
    const char *answer = str(doc, root, "answer");
    const yaml_node_t *seeds = mrpc_yaml_map_get(doc, root, "seeds");
    size_t n_seeds = seeds ? mrpc_yaml_len(seeds) : 0;
    snprintf(t->note, sizeof t->note, "%s over %zu new seeds, the same for every configuration (differences paired by "
             "seed; %s%s; 95%% t interval with n - 1 df; exact sign and signed-rank tests). %s%s",
             objective, n_seeds, points ? "in points" : "in objective units",
             strcmp(str(doc, root, "complete"), "true") ? ", provisional: runs pending" : "", str(doc, root, "verdict"),
             str(doc, root, "verdict")[0] ? "." : "");
    const yaml_node_t *cfgs = mrpc_yaml_map_get(doc, root, "configurations");
    for (size_t i = 0; cfgs && i < mrpc_yaml_len(cfgs); i++) {
        const yaml_node_t *c = mrpc_yaml_seq_at(doc, cfgs, i);
        if (!c || c->type != YAML_MAPPING_NODE) continue;
        size_t row = mrpc_table_add_row(t);
        if (row == (size_t)-1) break;
        const char *label = str(doc, c, "label");
        int is_answer = answer[0] && !strcmp(label, answer);
        mrpc_table_set(t, row, 0, label, NULL);
        mrpc_table_set(t, row, 1, is_answer ? "answer" : "", NULL);
        if (is_answer) mrpc_table_set_row_class(t, row, "best");
        /* values: "name=value, ..." */
        char values[512] = "";
        const yaml_node_t *v = mrpc_yaml_map_get(doc, c, "values");
        const char *key;
        const yaml_node_t *kn, *vn;
        for (size_t k = 0; v && mrpc_yaml_map_at(doc, v, k, &key, &kn, &vn); k++) {
            size_t len = strlen(values);
            const char *val = mrpc_yaml_scalar(vn);
            snprintf(values + len, sizeof values - len, "%s%s=%s", len ? ", " : "", key, val ? val : "");
        }
        mrpc_table_set(t, row, 2, values, NULL);
        char sd[32];
        snprintf(sd, sizeof sd, "%lld/%zu", (long long)num(doc, c, "completed"), n_seeds);
        mrpc_table_set(t, row, 3, sd, NULL);
        mrpc_table_set_f64(t, row, 4, num(doc, c, "mean"), scale, digits, 0);
        mrpc_table_set_f64(t, row, 5, num(doc, c, "sd"), scale, digits, 0);
        const yaml_node_t *vs = mrpc_yaml_map_get(doc, c, "vs_baseline");
        if (!vs) continue;
        mrpc_table_set_f64(t, row, 6, num(doc, vs, "mean"), scale, digits, 1);
        const yaml_node_t *ci = mrpc_yaml_map_get(doc, vs, "ci95");
        if (ci && mrpc_yaml_len(ci) == 2) {
            for (size_t k = 0; k < 2; k++) {
                const yaml_node_t *e = mrpc_yaml_seq_at(doc, ci, k);
                double x = NAN;
                if (e && !mrpc_yaml_is_null(e) && mrpc_yaml_get_f64(doc, e, "ci95", &x, &err) != MRPC_OK) x = NAN;
                mrpc_table_set_f64(t, row, 7 + (int)k, x, scale, digits, 1);
            }
        }
        mrpc_table_set_f64(t, row, 9, num(doc, vs, "p_t"), 1, -3, 0);
        mrpc_table_set_f64(t, row, 10, num(doc, vs, "p_sign"), 1, -3, 0);
        mrpc_table_set_f64(t, row, 11, num(doc, vs, "p_wilcoxon"), 1, -3, 0);
    }
    mrpc_yaml_free(doc);
}
