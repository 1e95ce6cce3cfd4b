/* mrpc_bench_driver.c — stand-alone driver for `mrpc-train bench` until mrpc-train's main
   dispatches to it: `mrpc-bench-step [options]` == `mrpc-train bench [options]`. */
#include "bench_cli.h"

int main(int argc, char **argv) {
    return mrpc_bench_cli_main(argc, argv);
}
