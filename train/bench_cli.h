/*
 * bench_cli.h — `mrpc-train bench`: times full training steps of distilbert-base-uncased
 * (forward, backward, clipping, AdamW) on random weights and random tokens.
 */
#ifndef MRPC_BENCH_CLI_H
#define MRPC_BENCH_CLI_H

/*
 * Runs the bench subcommand; argv[0] is "bench" (or the program name), options follow:
 *   --batch B (32)  --seq L (128)  --steps N (5)  --warmup W (1)  --precision fp32|bf16
 *   --threads N (2)  --chunk-tokens N (model default)  --no-prune  --profile  --seed S (1234)
 * Prints one line per step, then the summary, and last `tokens_per_second=<value>`
 * (median step). Returns 0 on success, 2 on bad usage, 1 on failure.
 */
int mrpc_bench_cli_main(int argc, char **argv);

#endif /* MRPC_BENCH_CLI_H */
