/* run_python.h — runs Debian's /usr/bin/python3 with a script from this directory (tests only). */
#ifndef MRPC_TEST_RUN_PYTHON_H
#define MRPC_TEST_RUN_PYTHON_H

/*
 * Runs `/usr/bin/python3 $MRPC_SOURCE_DIR/tests/unit/analysis/<script> args...` (args
 * NULL-terminated) and returns its exit status, or -1 when it could not run. Skips
 * the test (exit 77) when /usr/bin/python3 or the modules in `modules` (a Python
 * import line such as "import h5py, scipy") are missing.
 */
int run_python(const char *script, const char *modules, ...);

/* Runs a command line through /bin/sh; returns its exit status (-1 when it did not run). */
int run_shell(const char *cmd);

#endif
