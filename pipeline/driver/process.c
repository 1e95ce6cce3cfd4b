/* process.c — child processes without a shell (see process.h). */
#define _POSIX_C_SOURCE 200809L
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strutil.h"

extern char **environ;

/* environ plus env_extra (entries of env_extra win). The array is malloc'd; strings are borrowed. */
static char **merged_env(char *const env_extra[]) {
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env]) n_env++;
    while (env_extra && env_extra[n_extra]) n_extra++;
    char **env = malloc((n_env + n_extra + 1) * sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        int overridden = 0;
        for (size_t j = 0; j < n_extra; j++) {
            const char *eq = strchr(env_extra[j], '=');
            size_t len = eq ? (size_t)(eq - env_extra[j]) + 1 : strlen(env_extra[j]);
            if (strncmp(environ[i], env_extra[j], len) == 0) overridden = 1;
        }
        if (!overridden) env[k++] = environ[i];
    }
    for (size_t j = 0; j < n_extra; j++) env[k++] = env_extra[j];
    env[k] = NULL;
    return env;
}

mrpc_status mrpc_process_start(char *const argv[], const char *log_path, char *const env_extra[], pid_t *pid,
                               mrpc_error *err) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    if (log_path) {
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    }
    char **env = merged_env(env_extra);
    if (!env) {
        posix_spawn_file_actions_destroy(&fa);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    int rc = posix_spawn(pid, argv[0], &fa, NULL, argv, env);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return mrpc_error_set(err, MRPC_ERR_IO, argv[0], 0, 0, NULL, "cannot start: %s", strerror(rc));
    return MRPC_OK;
}

int mrpc_process_exit_code(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return 1;
}

mrpc_status mrpc_process_capture(char *const argv[], char **out, int *exit_code, mrpc_error *err) {
    *out = NULL;
    int fds[2];
    if (pipe(fds) != 0) return mrpc_error_set(err, MRPC_ERR_IO, NULL, 0, 0, NULL, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return mrpc_error_set(err, MRPC_ERR_IO, argv[0], 0, 0, NULL, "cannot start: %s", strerror(rc));
    }
    size_t cap = 4096, len = 0, limit = 1u << 20;
    char *buf = malloc(cap);
    mrpc_status s = buf ? MRPC_OK : mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    for (;;) {
        if (s == MRPC_OK && len + 1 == cap && cap < limit) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) s = mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
            else { buf = nb; cap *= 2; }
        }
        char sink[4096];
        char *dst = s == MRPC_OK && len + 1 < cap ? buf + len : sink;
        size_t room = dst == sink ? sizeof sink : cap - 1 - len;
        ssize_t n = read(fds[0], dst, room);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (dst != sink) len += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *exit_code = mrpc_process_exit_code(status);
    if (s != MRPC_OK) { free(buf); return s; }
    buf[len] = '\0';
    *out = buf;
    return MRPC_OK;
}

mrpc_status mrpc_process_own_dir(char *out, size_t size, mrpc_error *err) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return mrpc_error_set(err, MRPC_ERR_IO, "/proc/self/exe", 0, 0, NULL, "cannot find this program's directory");
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    if (!mrpc_str_copy(out, size, exe[0] ? exe : "/")) return mrpc_error_set(err, MRPC_ERR_INVALID, exe, 0, 0, NULL, "path too long");
    return MRPC_OK;
}
