/*
 * tokenize_cli.h — the `mrpc-train tokenize` command: prints the input ids of every
 * pair of an MRPC TSV file, one line per pair, so the tokenizer can be checked
 * against another implementation with diff.
 *
 *     mrpc-train tokenize --vocab FILE [--max-seq-length N] [--truncation RULE] PAIRS.tsv
 *
 * Each output line is the space-separated ids of [CLS] A [SEP] B [SEP] (truncated
 * longest_first to N, default 128, by the fast tokenizer's rule unless --truncation
 * longest_first_slow; no padding). Errors are printed to stderr as
 * "mrpc-train: error: file:line:col: field: message".
 *
 * Exit status: 0 success (also for --help), 2 usage or input error (bad option,
 * unreadable or malformed TSV or vocab), 1 anything else (out of memory, stdout
 * could not be written).
 */
#ifndef MRPC_TEXT_TOKENIZE_CLI_H
#define MRPC_TEXT_TOKENIZE_CLI_H

#include <stdio.h>

/*
 * Runs the command. argv[0] is the command's own name (e.g. "tokenize") and is not
 * read; the options and the TSV path follow. Writes ids to stdout and messages to
 * stderr; returns the exit status.
 */
int mrpc_tokenize_cli_main(int argc, char **argv);

/* As mrpc_tokenize_cli_main, writing to `out` (ids, --help) and `errs` (errors) instead. */
int mrpc_tokenize_cli_run(int argc, char **argv, FILE *out, FILE *errs);

#endif /* MRPC_TEXT_TOKENIZE_CLI_H */
