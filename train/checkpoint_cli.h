/*
 * checkpoint_cli.h — `mrpc-train check-checkpoint DIR`: loads a Hugging Face DistilBERT
 * checkpoint directory (config.json + model.safetensors) the way a run would and says
 * whether it is usable: the architecture, the tensors found, whether the
 * classification head is present. Exit status 0 when it loads, 2 otherwise.
 */
#ifndef MRPC_CHECKPOINT_CLI_H
#define MRPC_CHECKPOINT_CLI_H

/* Runs the command; argv[0] is the command name. Returns the exit status. */
int mrpc_checkpoint_cli_main(int argc, char **argv);

#endif /* MRPC_CHECKPOINT_CLI_H */
