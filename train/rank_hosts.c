/* rank_hosts.c — the hosts of a run's ranks (see rank_hosts.h). */
#define _DEFAULT_SOURCE /* gethostname */
#include "rank_hosts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strutil.h"

enum { NAME_BYTES = 64 };

mrpc_status mrpc_rank_hosts(mrpc_dist *dist, char *out, size_t out_size, mrpc_error *err) {
    if (out_size) out[0] = '\0';
    int n = mrpc_dist_size(dist), rank = mrpc_dist_rank(dist);
    char mine[NAME_BYTES] = "";
    if (gethostname(mine, sizeof mine) != 0 || !mine[0]) mrpc_str_copy(mine, sizeof mine, "unknown");
    mine[NAME_BYTES - 1] = '\0';
    /* Every rank fills its own slot, zeros elsewhere: a sum gathers them all. */
    int64_t *slots = calloc((size_t)n * NAME_BYTES, sizeof *slots);
    if (!slots) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    for (size_t k = 0; k < NAME_BYTES; k++) slots[(size_t)rank * NAME_BYTES + k] = (unsigned char)mine[k];
    mrpc_status s = mrpc_dist_allreduce_sum_i64(dist, slots, (size_t)n * NAME_BYTES, err);
    if (s != MRPC_OK) {
        free(slots);
        return s;
    }
    char *names = calloc((size_t)n, NAME_BYTES);
    if (!names) {
        free(slots);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < (size_t)n * NAME_BYTES; i++) names[i] = (char)slots[i];
    free(slots);
    size_t used = 0;
    for (int r = 0; r < n; r++) {
        const char *name = names + (size_t)r * NAME_BYTES;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++) seen = strcmp(name, names + (size_t)q * NAME_BYTES) == 0;
        if (seen) continue;
        size_t need = strlen(name) + (used ? 1 : 0);
        if (used + need + 4 >= out_size) {
            if (used + 4 < out_size) memcpy(out + used, "...", 4);
            break;
        }
        if (used) out[used++] = ',';
        memcpy(out + used, name, strlen(name) + 1);
        used += strlen(name);
    }
    free(names);
    return MRPC_OK;
}
