/*
 * test_mrpc_data.c — the whole of MRPC through the tokenizer: counts, labels, lengths,
 * no [UNK], no truncation at 128, and speed. Expected numbers are from
 * ../shared/docs/distilbert-mrpc-facts.md sections 4 and 5.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "timeutil.h"
#include "token_cache.h"
#include "tokenizer.h"

#define FAST MRPC_TRUNCATION_LONGEST_FIRST

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

typedef struct split_facts {
    const char *rel;
    size_t n, pos, neg, longest;
    double mean;
} split_facts;

int main(void) {
    static const split_facts splits[] = {
        {"mrpc/train.tsv", 3668, 2474, 1194, 103, 53.2},
        {"mrpc/dev.tsv", 408, 279, 129, 86, 53.2},
        {"mrpc/test.tsv", 1725, 0, 0, 104, 53.0},
    };
    char vocab_path[1024];
    snprintf(vocab_path, sizeof vocab_path, "%s", mrpc_test_data_path("bert-base-uncased/vocab.txt"));
    mrpc_vocab *v = NULL;
    mrpc_error err = {0};
    if (!CHECK_OK(mrpc_vocab_load(vocab_path, &v, &err), &err)) return mrpc_test_report();

    size_t total_pieces = 0, total_unk = 0;
    double seconds_train_dev = 0.0;
    for (size_t s = 0; s < 3; s++) {
        const split_facts *f = &splits[s];
        char path[1024];
        snprintf(path, sizeof path, "%s", mrpc_test_data_path(f->rel));
        mrpc_dataset ds;
        int hit = -1;
        double t0 = mrpc_seconds_now();
        mrpc_status st = mrpc_dataset_load(path, NULL, v, 128, FAST, NULL, &ds, &hit, &err);
        double dt = mrpc_seconds_now() - t0;
        if (!CHECK_OK(st, &err)) continue;
        if (s < 2) seconds_train_dev += dt;
        CHECK(hit == 0, "no cache -> no hit");
        size_t pos = 0, neg = 0, unl = 0, unk = 0, longest = 0, bad_layout = 0;
        for (size_t i = 0; i < ds.n; i++) {
            if (ds.labels[i] == 1) pos++;
            else if (ds.labels[i] == 0) neg++;
            else if (ds.labels[i] == -1) unl++;
            size_t len = ds.offsets[i + 1] - ds.offsets[i];
            const int32_t *ids = ds.ids + ds.offsets[i];
            if (len > longest) longest = len;
            size_t n_sep = 0;
            for (size_t k = 0; k < len; k++) {
                if (ids[k] == 100) unk++;
                if (ids[k] == 102) n_sep++;
            }
            if (len < 3 || ids[0] != 101 || ids[len - 1] != 102 || n_sep != 2) bad_layout++;
        }
        double mean = (double)ds.offsets[ds.n] / (double)ds.n;
        CHECK(ds.n == f->n, "%s: %zu examples, want %zu", f->rel, ds.n, f->n);
        if (f->pos + f->neg) {
            CHECK(pos == f->pos && neg == f->neg, "%s: %zu pos / %zu neg", f->rel, pos, neg);
        } else {
            CHECK(unl == ds.n, "%s: unlabeled", f->rel);
        }
        CHECK(unk == 0, "%s: %zu [UNK]", f->rel, unk);
        CHECK(longest == f->longest && ds.max_len == f->longest, "%s: longest %zu (max_len %zu), want %zu", f->rel,
              longest, ds.max_len, f->longest);
        CHECK_CLOSE(mean, f->mean, 0.05, 0.0, f->rel);
        CHECK(ds.n_truncated == 0, "%s: %zu truncated at 128", f->rel, ds.n_truncated);
        CHECK(bad_layout == 0, "%s: %zu rows not [CLS] A [SEP] B [SEP]", f->rel, bad_layout);
        printf("%s: %zu pairs, longest %zu, mean %.3f, %.3f s\n", f->rel, ds.n, longest, mean, dt);
        total_pieces += ds.offsets[ds.n] - 3 * ds.n;
        total_unk += unk;
        mrpc_dataset_free(&ds);
    }
    CHECK(total_pieces == 290999, "word pieces over all splits: %zu (facts doc: 290,999)", total_pieces);
    CHECK(total_unk == 0, "no [UNK] anywhere");
    /* "Well under a second" for train + dev (3668 + 408 pairs, TSV reading included). */
    double limit = SANITIZED ? 5.0 : 1.0;
    CHECK(seconds_train_dev < limit, "train + dev took %.3f s (limit %.1f s)", seconds_train_dev, limit);
    printf("train + dev tokenized in %.3f s\n", seconds_train_dev);
    mrpc_vocab_free(v);
    return mrpc_test_report();
}
