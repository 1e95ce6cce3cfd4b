/*
 * study_fixture.h — a study on disk for the optimizer's tests: the files a study
 * directory holds (study.yaml, base.yaml) written under a test's scratch directory.
 *
 * Failures are counted as failed checks (testutil.h), at the line of this file where
 * they happened, and reported by the functions' return value, so a test can stop:
 *
 *     static char study_file[1200];
 *     study_fixture_minimal_base(mrpc_test_tmpdir(), study_file, sizeof study_file);
 *     ... mrpc_study_parse(study_file, text, strlen(text), &st, &err) ...
 */
#ifndef MRPC_TESTS_STUDY_FIXTURE_H
#define MRPC_TESTS_STUDY_FIXTURE_H

#include <stddef.h>

#include "study.h"

/*
 * Writes `text` to dir/name atomically, making the missing parent directories of the
 * file (name may hold a '/'). A failure is a failed check.
 */
void study_fixture_write(const char *dir, const char *name, const char *text);

/*
 * For tests that parse study texts in memory: writes dir/base.yaml, a base config of
 * learning rate 5e-5 and 3 epochs, and puts the path dir/study.yaml (the study file
 * that would sit next to it; not written) into study_file (`size` bytes). Returns 1,
 * or 0 after a failed check when base.yaml could not be written.
 */
int study_fixture_minimal_base(const char *dir, char *study_file, size_t size);

/*
 * Writes a study into <mrpc_test_tmpdir()>/study, whose path goes into dir (`dir_size`
 * bytes): base.yaml, a random model trained 3 epochs (learning rate 5e-5, batch 32,
 * dropout 0.1), and study.yaml, named `name` (seed 11, maximize accuracy) over
 * learning_rate (log-uniform 1e-5..2e-4), weight_decay (0..0.1, baseline 0) and num_epochs
 * fixed at 3, whose `stages:` block is `stages` (its lines, indented two spaces). Loads
 * it into *st and plans its first wave with `next` (lock timeout 5 s, bindir
 * /opt/mrpc/bin); the wave's directory is copied into wave_dir (`wave_size` bytes) and
 * the result of `next` freed. Returns 1, or 0 after a failed check (study not loaded,
 * or `next` failed or did not write a wave: the check "first wave").
 */
int study_fixture_first_wave(const char *name, const char *stages, mrpc_study *st, char *dir, size_t dir_size,
                             char *wave_dir, size_t wave_size);

#endif /* MRPC_TESTS_STUDY_FIXTURE_H */
