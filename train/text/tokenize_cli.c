/* tokenize_cli.c — `mrpc-train tokenize` (see tokenize_cli.h). */
#include "tokenize_cli.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mrpc_tsv.h"
#include "status.h"
#include "strutil.h"
#include "tokenizer.h"

#define CLI_PROGRAM "mrpc-train"
#define CLI_DEFAULT_MAX_SEQ 128
#define CLI_MAX_MAX_SEQ ((int64_t)1 << 20)

static const char usage_text[] =
    "usage: mrpc-train tokenize --vocab FILE [--max-seq-length N] [--truncation RULE] PAIRS.tsv\n"
    "\n"
    "Tokenizes every sentence pair of an MRPC TSV file (train/dev/test format) with the\n"
    "BERT uncased WordPiece tokenizer and prints one line per pair, in file order: the\n"
    "input ids of [CLS] A [SEP] B [SEP], space-separated, without padding.\n"
    "\n"
    "options:\n"
    "  --vocab FILE          the vocab.txt of bert-base-uncased (required)\n"
    "  --max-seq-length N    truncate each pair longest_first to at most N ids\n"
    "                        (default 128; at least 3)\n"
    "  --truncation RULE     longest_first (default): Hugging Face's fast tokenizer\n"
    "                        (BertTokenizerFast, AutoTokenizer, run_glue.py);\n"
    "                        longest_first_slow: the slow Python BertTokenizer and the\n"
    "                        original BERT code (A keeps the odd token when both are cut)\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "exit status: 0 success, 2 usage or input error, 1 other failure\n";

static int usage_error(FILE *errs, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "mrpc-train: error: <message>" and a pointer to --help; returns the usage exit status 2. */
static int usage_error(FILE *errs, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(errs, "%s: error: ", CLI_PROGRAM);
    vfprintf(errs, fmt, ap);
    va_end(ap);
    fprintf(errs, "\n(see mrpc-train tokenize --help)\n");
    fflush(errs);
    return 2;
}

static int exit_code_for(mrpc_status st) {
    switch (st) {
    case MRPC_ERR_IO: case MRPC_ERR_PARSE: case MRPC_ERR_INVALID: case MRPC_ERR_UNSUPPORTED:
        return 2;
    default:
        return 1;
    }
}

/* Value of an option written "--name VALUE" or "--name=VALUE"; NULL when this argv[*i] is not that option. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) { *missing = 1; return NULL; }
    (*i)++;
    return argv[*i];
}

int mrpc_tokenize_cli_run(int argc, char **argv, FILE *out, FILE *errs) {
    const char *vocab_path = NULL, *tsv_path = NULL;
    int64_t max_seq = CLI_DEFAULT_MAX_SEQ;
    mrpc_truncation truncation = MRPC_TRUNCATION_LONGEST_FIRST;
    int only_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int missing = 0;
        const char *val;
        if (!only_paths && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(usage_text, out);
            return fflush(out) == 0 ? 0 : 1;
        }
        if (!only_paths && strcmp(a, "--") == 0) { only_paths = 1; continue; }
        if (!only_paths && (val = option_value(argc, argv, &i, "--vocab", &missing)) != NULL) {
            vocab_path = val;
        } else if (!only_paths && (val = option_value(argc, argv, &i, "--max-seq-length", &missing)) != NULL) {
            if (!mrpc_parse_i64(val, &max_seq) || max_seq < 3 || max_seq > CLI_MAX_MAX_SEQ)
                return usage_error(errs, "--max-seq-length: expected an integer from 3 to 1048576, got \"%s\"", val);
        } else if (!only_paths && (val = option_value(argc, argv, &i, "--truncation", &missing)) != NULL) {
            if (!mrpc_truncation_parse(val, &truncation))
                return usage_error(errs, "--truncation: expected longest_first or longest_first_slow, got \"%s\"", val);
        } else if (missing) {
            return usage_error(errs, "%s needs a value", a);
        } else if (!only_paths && a[0] == '-' && a[1] != '\0') {
            return usage_error(errs, "unknown option \"%s\"", a);
        } else if (tsv_path) {
            return usage_error(errs, "more than one TSV file given (\"%s\")", a);
        } else {
            tsv_path = a;
        }
    }
    if (!vocab_path) return usage_error(errs, "%s", "--vocab FILE is required");
    if (!tsv_path) return usage_error(errs, "%s", "no TSV file given");

    mrpc_error err = {0};
    mrpc_vocab *vocab = NULL;
    mrpc_pairs pairs = {0};
    int32_t *ids = NULL;
    char *line = NULL;
    int rc = 0;
    mrpc_status st = mrpc_vocab_load(vocab_path, &vocab, &err);
    if (st == MRPC_OK) st = mrpc_tsv_read(tsv_path, &pairs, &err);
    if (st != MRPC_OK) {
        mrpc_error_print(errs, CLI_PROGRAM, &err);
        rc = exit_code_for(st);
        goto done;
    }
    ids = malloc((size_t)max_seq * sizeof *ids);
    line = malloc((size_t)max_seq * 12 + 2); /* an id is at most 10 digits plus a space */
    if (!ids || !line) {
        mrpc_error_set(&err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
        mrpc_error_print(errs, CLI_PROGRAM, &err);
        rc = 1;
        goto done;
    }
    for (size_t p = 0; p < pairs.n; p++) {
        const mrpc_pair *pr = &pairs.items[p];
        size_t n = 0;
        st = mrpc_tokenizer_encode_pair(vocab, pr->sentence1, pr->sentence2, (size_t)max_seq, truncation, ids, &n,
                                        NULL, &err);
        if (st != MRPC_OK) {
            /* Name the line in the TSV; the column from the tokenizer is relative to the sentence. */
            err.line = pr->line;
            err.column = 0;
            mrpc_str_copy(err.file, sizeof err.file, tsv_path);
            mrpc_error_print(errs, CLI_PROGRAM, &err);
            rc = exit_code_for(st);
            goto done;
        }
        size_t o = 0;
        for (size_t k = 0; k < n; k++) {
            int w = snprintf(line + o, 13, k ? " %ld" : "%ld", (long)ids[k]);
            if (w > 0) o += (size_t)w;
        }
        line[o++] = '\n';
        if (fwrite(line, 1, o, out) != o) break;
    }
    if (fflush(out) != 0 || ferror(out)) {
        mrpc_error_set(&err, MRPC_ERR_IO, NULL, 0, 0, NULL, "writing the output failed");
        mrpc_error_print(errs, CLI_PROGRAM, &err);
        rc = 1;
    }
done:
    free(line);
    free(ids);
    mrpc_pairs_free(&pairs);
    mrpc_vocab_free(vocab);
    return rc;
}

int mrpc_tokenize_cli_main(int argc, char **argv) { return mrpc_tokenize_cli_run(argc, argv, stdout, stderr); }
