/* test_batcher.c — epoch orders, rank shares, padding and the MRPC metrics. */
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "metrics.h"
#include "testutil.h"

/* A dataset of n examples; example i has (i % 7) + 3 tokens, all equal to 1000 + i. */
static void make_dataset(mrpc_dataset *ds, size_t n) {
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->labels = malloc(n * sizeof *ds->labels);
    ds->offsets = malloc((n + 1) * sizeof *ds->offsets);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += i % 7 + 3;
    ds->ids = malloc(total * sizeof *ds->ids);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        ds->offsets[i] = off;
        ds->labels[i] = (int32_t)(i % 2);
        size_t len = i % 7 + 3;
        for (size_t t = 0; t < len; t++) ds->ids[off + t] = (int32_t)(1000 + i);
        off += len;
        if (len > ds->max_len) ds->max_len = len;
    }
    ds->offsets[n] = off;
}

static void test_shares(void) {
    mrpc_dataset ds;
    make_dataset(&ds, 103);
    mrpc_error err = {0};
    const int batch = 10;
    for (int n_ranks = 1; n_ranks <= 4; n_ranks++) {
        mrpc_batcher b[4];
        for (int r = 0; r < n_ranks; r++) CHECK_OK(mrpc_batcher_init(&b[r], &ds, 0, batch, r, n_ranks, 0, 7, &err), &err);
        CHECK(mrpc_batcher_steps_per_epoch(&b[0]) == 11, "ceil(103/10) steps");
        for (int epoch = 0; epoch < 2; epoch++) {
            int seen[103] = {0};
            for (int64_t step = 0; step < 11; step++) {
                int rows = 0;
                for (int r = 0; r < n_ranks; r++) {
                    const mrpc_batch *bt;
                    CHECK_OK(mrpc_batcher_get(&b[r], epoch, step, 1, &bt, &err), &err);
                    rows += bt->n_rows;
                    CHECK(bt->global_size == (step == 10 ? 3 : 10), "global size of step %lld", (long long)step);
                    for (int i = 0; i < bt->n_rows; i++) {
                        uint32_t ex = bt->example_index[i];
                        seen[ex]++;
                        int len = (int)(ex % 7 + 3);
                        CHECK(bt->lengths[i] == len, "length of example %u", ex);
                        CHECK(bt->labels[i] == (int32_t)(ex % 2), "label of example %u", ex);
                        for (int t = 0; t < bt->seq_len; t++) {
                            int32_t want = t < len ? (int32_t)(1000 + ex) : 0;
                            if (bt->ids[i * bt->seq_len + t] != want) {
                                CHECK(0, "token %d of row %d", t, i);
                                break;
                            }
                        }
                    }
                }
                CHECK(rows == (step == 10 ? 3 : 10), "shares add up to the global batch (%d ranks)", n_ranks);
            }
            int all_once = 1;
            for (int i = 0; i < 103; i++) all_once &= seen[i] == 1;
            CHECK(all_once, "every example once per epoch (%d ranks, epoch %d)", n_ranks, epoch);
        }
        for (int r = 0; r < n_ranks; r++) mrpc_batcher_free(&b[r]);
    }
    /* The order depends on seed and epoch only: 1 rank and 3 ranks see the same global batches. */
    mrpc_batcher one, three[3];
    CHECK_OK(mrpc_batcher_init(&one, &ds, 0, 9, 0, 1, 0, 11, &err), &err);
    for (int r = 0; r < 3; r++) CHECK_OK(mrpc_batcher_init(&three[r], &ds, 0, 9, r, 3, 0, 11, &err), &err);
    const mrpc_batch *a, *p;
    CHECK_OK(mrpc_batcher_get(&one, 1, 4, 1, &a, &err), &err);
    uint32_t first[9];
    memcpy(first, a->example_index, sizeof first);
    int k = 0, same = 1;
    for (int r = 0; r < 3; r++) {
        CHECK_OK(mrpc_batcher_get(&three[r], 1, 4, 1, &p, &err), &err);
        for (int i = 0; i < p->n_rows; i++) same &= p->example_index[i] == first[k++];
    }
    CHECK(same && k == 9, "rank shares are slices of the single-rank batch");
    CHECK_OK(mrpc_batcher_get(&one, 2, 4, 1, &a, &err), &err);
    CHECK(memcmp(first, a->example_index, sizeof first) != 0, "another epoch, another order");
    CHECK_OK(mrpc_batcher_get(&one, 0, 0, 0, &a, &err), &err);
    int file_order = 1;
    for (int i = 0; i < a->n_rows; i++) file_order &= a->example_index[i] == (uint32_t)i;
    CHECK(file_order, "evaluation batches are in file order");
    CHECK(mrpc_batcher_get(&one, 0, 12, 1, &a, &err) == MRPC_ERR_INTERNAL, "step out of range");
    mrpc_batcher_free(&one);
    for (int r = 0; r < 3; r++) mrpc_batcher_free(&three[r]);
    /* More ranks than rows: some ranks get nothing. */
    mrpc_batcher tiny;
    CHECK_OK(mrpc_batcher_init(&tiny, &ds, 5, 2, 3, 4, 0, 1, &err), &err);
    CHECK_OK(mrpc_batcher_get(&tiny, 0, 0, 1, &a, &err), &err);
    CHECK(a->n_rows == 1, "rank 3 of 4 gets 1 of 2 rows, got %d", a->n_rows);
    mrpc_batcher_free(&tiny);
    CHECK_OK(mrpc_batcher_init(&tiny, &ds, 5, 2, 0, 4, 0, 1, &err), &err);
    CHECK_OK(mrpc_batcher_get(&tiny, 0, 0, 1, &a, &err), &err);
    CHECK(a->n_rows == 0, "rank 0 of 4 gets 0 of 2 rows, got %d", a->n_rows);
    mrpc_batcher_free(&tiny);
    free(ds.labels);
    free(ds.offsets);
    free(ds.ids);
}

static void test_metrics(void) {
    int32_t labels[] = {1, 1, 1, 0, 0, 1, 0, 1};
    int32_t preds[] = {1, 0, 1, 1, 0, 1, 0, 1};
    mrpc_metrics m = mrpc_metrics_compute(preds, labels, 8);
    CHECK(m.tp == 4 && m.fp == 1 && m.fn == 1 && m.tn == 2, "confusion counts");
    CHECK_CLOSE(m.accuracy, 6.0 / 8.0, 1e-15, 0, "accuracy");
    CHECK_CLOSE(m.f1, 8.0 / 10.0, 1e-15, 0, "f1 = 2tp/(2tp+fp+fn)");
    int32_t zeros[] = {0, 0, 0};
    m = mrpc_metrics_compute(zeros, zeros, 3);
    CHECK(m.accuracy == 1.0 && m.f1 == 0.0, "no positives: f1 0 as sklearn (zero_division)");
}

int main(void) {
    test_shares();
    test_metrics();
    return mrpc_test_report();
}
