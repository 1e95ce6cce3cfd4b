/* fuzz_hf_config.c — bytes -> mrpc_hf_config_parse. A config the parser accepts must
 * also pass mrpc_hf_config_validate; a rejected one must leave the output untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrpc_hf_config cfg, before;
    memset(&cfg, 0x5a, sizeof cfg);
    before = cfg;
    mrpc_error err;
    if (mrpc_hf_config_parse("fuzz.json", (const char *)data, size, &cfg, &err) != MRPC_OK) {
        if (memcmp(&cfg, &before, sizeof cfg) != 0 || err.message[0] == '\0') abort();
        return 0;
    }
    if (mrpc_hf_config_validate("fuzz.json", &cfg, &err) != MRPC_OK) abort();
    if (cfg.dim % cfg.n_heads != 0) abort();
    return 0;
}
