/* run_python.c — see run_python.h. */
#define _POSIX_C_SOURCE 200809L
#include "run_python.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define PYTHON "/usr/bin/python3"

static int wait_child(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_python(const char *script, const char *modules, ...) {
    if (access(PYTHON, X_OK) != 0) mrpc_test_skip(PYTHON " is not installed");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl(PYTHON, PYTHON, "-c", modules, (char *)NULL);
        _exit(127);
    }
    if (wait_child(pid) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s cannot run \"%s\"", PYTHON, modules);
        mrpc_test_skip(why);
    }
    const char *src = getenv("MRPC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/analysis/%s", src ? src : ".", script);
    char *argv[32];
    int argc = 0;
    argv[argc++] = PYTHON;
    argv[argc++] = path;
    va_list ap;
    va_start(ap, modules);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execv(PYTHON, argv);
        _exit(127);
    }
    return wait_child(pid);
}

int run_shell(const char *cmd) {
    fflush(stdout);
    fflush(stderr);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}
