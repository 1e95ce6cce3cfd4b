/* fuzz_run_config.c — the run config parser (YAML through libyaml, the schema walk,
 * --set assignments) on arbitrary bytes: never crashes, never leaks, and a config it
 * accepts prints as YAML that it accepts again with the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrpc_run_config cfg;
    mrpc_error err = {0};
    mrpc_run_config_defaults(&cfg);
    if (mrpc_run_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &err) != MRPC_OK) return 0;
    /* Unresolved dropouts print as null, which is not valid input: resolve them first. */
    if (mrpc_run_config_finalize(&cfg, 0.1, 0.1, 0.2, &err) != MRPC_OK) return 0;
    char *yaml = NULL;
    if (mrpc_run_config_to_yaml(&cfg, 1, &yaml, &err) != MRPC_OK) abort();
    mrpc_run_config back;
    mrpc_run_config_defaults(&back);
    if (mrpc_run_config_load_string("printed.yaml", yaml, strlen(yaml), &back, &err) != MRPC_OK) abort();
    for (size_t i = 0; i < mrpc_run_config_key_count(); i++) {
        const mrpc_config_key *key = mrpc_run_config_key_at(i);
        char a[MRPC_PATH_MAX], b[MRPC_PATH_MAX];
        mrpc_run_config_get_text(&cfg, key->name, a, sizeof a);
        mrpc_run_config_get_text(&back, key->name, b, sizeof b);
        if (strcmp(a, b) != 0) abort();
    }
    free(yaml);
    /* The same bytes as one --set assignment. */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    mrpc_run_config_set_assignment(&cfg, text, &err);
    free(text);
    return 0;
}
