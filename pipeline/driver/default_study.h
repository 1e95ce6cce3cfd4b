/*
 * default_study.h — the study that `mrpc-pipeline run` runs when it is given none: all
 * three stages on MRPC on the CPU, sized to finish in about a quarter of an hour on a
 * 2-core machine.
 *
 * With real distilbert-base-uncased weights in $MRPC_DATA_DIR/distilbert-base-uncased
 * (scripts/get-data.sh) the study fine-tunes them with the HF Trainer's ranges (this
 * takes hours on a laptop-class CPU; on a cluster the same files run under Slurm).
 * Without them it starts from a random small DistilBERT (dim 64, 2 layers) and says so:
 * such a model learns little about paraphrases, so the numbers show the machinery, not
 * DistilBERT's accuracy.
 */
#ifndef MRPC_DRIVER_DEFAULT_STUDY_H
#define MRPC_DRIVER_DEFAULT_STUDY_H

#include "status.h"

/* Which model the default study uses. */
typedef enum mrpc_default_model {
    MRPC_DEFAULT_MODEL_RANDOM_SMALL = 0,
    MRPC_DEFAULT_MODEL_PRETRAINED = 1
} mrpc_default_model;

/*
 * Writes study.yaml and base.yaml of the default study into `dir` (created), unless a
 * study.yaml is already there (then nothing is written and *written is 0). The data
 * paths refer to ${MRPC_DATA_DIR:-<data_dir>}; `pretrained_dir` is the checkpoint
 * directory to fine-tune, or NULL for the random small model.
 */
mrpc_status mrpc_default_study_write(const char *dir, const char *data_dir, const char *pretrained_dir, int *written,
                                     mrpc_error *err);

#endif /* MRPC_DRIVER_DEFAULT_STUDY_H */
