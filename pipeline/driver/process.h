/*
 * process.h — starting the pipeline's own programs as child processes, without a shell:
 * arguments go to execv as they are, so no value from a config or a path is ever
 * interpreted by a shell.
 */
#ifndef MRPC_DRIVER_PROCESS_H
#define MRPC_DRIVER_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "status.h"

/*
 * Starts argv[0] (a path) with argv, stdout and stderr appended to `log_path` (NULL:
 * inherited), and `env_extra` (NULL-terminated "NAME=value" list, may be NULL) added to
 * the environment. *pid gets the child.
 */
mrpc_status mrpc_process_start(char *const argv[], const char *log_path, char *const env_extra[], pid_t *pid,
                               mrpc_error *err);

/*
 * Runs argv to completion with stdout captured into a new malloc'd string (*out, caller
 * frees; at most 1 MiB) and stderr inherited. *exit_code gets the exit status (128 + n
 * when killed by signal n).
 */
mrpc_status mrpc_process_capture(char *const argv[], char **out, int *exit_code, mrpc_error *err);

/* Exit code of a waitpid status: the exit status, or 128 + the signal. */
int mrpc_process_exit_code(int wait_status);

/* The directory of the running executable (for finding the sibling binaries). */
mrpc_status mrpc_process_own_dir(char *out, size_t size, mrpc_error *err);

#endif /* MRPC_DRIVER_PROCESS_H */
