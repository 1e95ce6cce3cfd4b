/* tokenize_driver.c — a stand-in for `mrpc-train tokenize` until the lead wires the command into mrpc-train. */
#include "tokenize_cli.h"

int main(int argc, char **argv) { return mrpc_tokenize_cli_main(argc, argv); }
