/* trainer.c — the training loop of mrpc-train (see trainer.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "trainer.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batcher.h"
#include "checkpoint_stats.h"
#if defined(MRPC_HAVE_NCCL)
#include "cuda_backend.h"
#include "dist_nccl.h"
#endif
#include "fsutil.h"
#include "lr_schedule.h"
#include "metrics.h"
#include "model.h"
#include "rank_hosts.h"
#include "resume.h"
#include "runrec.h"
#include "strutil.h"
#include "timeutil.h"
#include "token_cache.h"
#include "tokenizer.h"

/*
 * The data-parallel gradient sum, bucketed: the model reports each range of the
 * gradient slab as soon as the backward pass has finished it (head first, embeddings
 * last), and the range's all-reduce starts at once, so communication overlaps with the
 * backward pass of the blocks below. Every rank posts the same buckets in the same order
 * (a rank with no rows, or one that failed, posts the rest after its backward pass).
 */
typedef struct grad_sync {
    mrpc_dist         *dist;
    float             *grads;
    size_t             n_buckets, posted;
    size_t            *offset, *count;  /* [n_buckets] the model's schedule */
    mrpc_dist_request *req;             /* [n_buckets] */
    mrpc_status        status;          /* first failure of a post/test/wait */
    mrpc_error         err;
    double             seconds;         /* time spent posting and waiting (not hidden) */
} grad_sync;

/* Everything one run holds; lives on the stack of mrpc_train_run. */
typedef struct train_ctx {
    const mrpc_run_config    *cfg;
    const mrpc_train_options *opts;
    mrpc_dist                *dist;
    int                       rank, n_ranks;

    mrpc_vocab         *vocab;
    mrpc_dataset        train, valid;
    mrpc_batcher        train_batches, eval_batches;
    size_t              n_train, n_valid;
    mrpc_model         *model;
    mrpc_model_dropouts dropouts;
    mrpc_runrec_writer *record;      /* rank 0 only */
    grad_sync           sync;        /* bucketed gradient all-reduce (several CPU ranks) */
    int                 bucketed;
    int                 on_gpu;      /* CUDA backend: gradients live on the device */
    int                 device;      /* this rank's GPU */
#if defined(MRPC_HAVE_NCCL)
    mrpc_nccl          *nccl;        /* gradient all-reduce between GPUs (several ranks) */
#endif
    char               *config_yaml; /* resolved config, as recorded */
    uint64_t            config_hash;

    int64_t steps_per_epoch, total_steps;
    mrpc_resume_state progress;  /* steps, evals, best accuracy, time and tokens so far */
    /* periodic checkpoints (rank 0) */
    int64_t     checkpoint_step;      /* steps done in the complete checkpoint on disk, -1 when none */
    double      last_checkpoint_time; /* when it was written (or this process started training) */
    mrpc_error  deferred;             /* a record failure while checkpointing, reported at the next step */
    char        checkpoint_note[512]; /* the last checkpoint write failure, "" when none */
    char        hosts[512];           /* the ranks' distinct hosts, for /@hosts */
    mrpc_checkpoint_stats ckstats;    /* written, failed, seconds, resumes, steps redone (all processes) */
    char        stats_path[MRPC_PATH_MAX + 8]; /* <resume_checkpoint>.stats */
    int         pause_failed;         /* the pause checkpoint could not be written: run to the end instead */
    double  last_accuracy, last_f1;
    double  last_loss;           /* training loss of the latest step */
    int32_t *predictions;        /* [n_valid] last evaluation, file order */
    int32_t *labels;             /* [n_valid] */
} train_ctx;

/* ---- helpers ------------------------------------------------------------------------ */

/* Threads per rank: the config's, else the cores this process may use, shared between
 * the ranks of this node when they are not bound to disjoint cores. */
static int choose_threads(const train_ctx *c) {
    if (c->cfg->threads > 0) return (int)c->cfg->threads;
    cpu_set_t set;
    int cores = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
    if (cores <= 0) cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int local = mrpc_dist_local_size(c->dist);
    if (local > 1 && cores >= online) cores /= local; /* unbound ranks share the node */
    return cores > 0 ? cores : 1;
}

static void format_duration(double seconds, char *buf, size_t size) {
    if (!(seconds >= 0) || seconds > 1e7) { snprintf(buf, size, "?"); return; }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else snprintf(buf, size, "%lds", s);
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- set-up ------------------------------------------------------------------------- */

/* Several ranks on GPUs: one device per rank of a node, and NCCL between them. */
static mrpc_status choose_gpu(train_ctx *c, mrpc_error *err) {
#if defined(MRPC_HAVE_NCCL)
    c->device = mrpc_nccl_pick_device(c->dist);
    return MRPC_OK;
#else
    return mrpc_error_set(err, MRPC_ERR_UNSUPPORTED, NULL, 0, 0, "backend",
                          "training on CUDA with %d ranks needs NCCL, which this build lacks (configure with "
                          "-DMRPC_NCCL=ON)", c->n_ranks);
#endif
}

static mrpc_status load_data(train_ctx *c, mrpc_error *err) {
    const mrpc_run_config *cfg = c->cfg;
    mrpc_status s = mrpc_vocab_load(cfg->vocab_path, &c->vocab, err);
    if (s != MRPC_OK) return s;
    const char *cache = cfg->cache_dir[0] ? cfg->cache_dir : NULL;
    int hit = 0;
    mrpc_truncation truncation = MRPC_TRUNCATION_LONGEST_FIRST;
    if (!mrpc_truncation_parse(cfg->truncation, &truncation)) /* the schema allows only the two names */
        return mrpc_error_set(err, MRPC_ERR_INVALID, cfg->source[0] ? cfg->source : NULL, 0, 0, "data.truncation",
                              "expected longest_first or longest_first_slow, got \"%s\"", cfg->truncation);
    s = mrpc_dataset_load(cfg->train_path, cfg->vocab_path, c->vocab, (size_t)cfg->max_seq_length, truncation, cache,
                          &c->train, &hit, err);
    if (s != MRPC_OK) return s;
    s = mrpc_dataset_load(cfg->validation_path, cfg->vocab_path, c->vocab, (size_t)cfg->max_seq_length, truncation,
                          cache, &c->valid, &hit, err);
    if (s != MRPC_OK) return s;
    c->n_train = cfg->max_train_examples > 0 && (size_t)cfg->max_train_examples < c->train.n
                     ? (size_t)cfg->max_train_examples : c->train.n;
    c->n_valid = cfg->max_eval_examples > 0 && (size_t)cfg->max_eval_examples < c->valid.n
                     ? (size_t)cfg->max_eval_examples : c->valid.n;
    for (size_t i = 0; i < c->n_train; i++) {
        if (c->train.labels[i] != 0 && c->train.labels[i] != 1) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, cfg->train_path, 0, 0, "Quality",
                                  "example %zu has no 0/1 label (an unlabeled test file?)", i + 1);
        }
    }
    for (size_t i = 0; i < c->n_valid; i++) {
        if (c->valid.labels[i] != 0 && c->valid.labels[i] != 1) {
            return mrpc_error_set(err, MRPC_ERR_INVALID, cfg->validation_path, 0, 0, "Quality",
                                  "example %zu has no 0/1 label (an unlabeled test file?)", i + 1);
        }
    }
    int32_t pad = mrpc_vocab_pad_id(c->vocab);
    s = mrpc_batcher_init(&c->train_batches, &c->train, c->n_train, (int)cfg->train_batch_size, c->rank, c->n_ranks,
                          pad, (uint64_t)cfg->seed, err);
    if (s != MRPC_OK) return s;
    s = mrpc_batcher_init(&c->eval_batches, &c->valid, c->n_valid, (int)cfg->eval_batch_size, c->rank, c->n_ranks,
                          pad, (uint64_t)cfg->seed, err);
    if (s != MRPC_OK) return s;
    c->steps_per_epoch = mrpc_batcher_steps_per_epoch(&c->train_batches);
    c->total_steps = c->steps_per_epoch * cfg->num_epochs;
    c->predictions = calloc(c->n_valid, sizeof *c->predictions);
    c->labels = calloc(c->n_valid, sizeof *c->labels);
    if (!c->predictions || !c->labels) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    memcpy(c->labels, c->valid.labels, c->n_valid * sizeof *c->labels);
    if (cfg->debug_fail_rank == c->rank) {
        return mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, "debug_fail_rank",
                              "rank %d failed on purpose (fault injection for testing)", c->rank);
    }
    return MRPC_OK;
}

static mrpc_status build_model(train_ctx *c, mrpc_error *err) {
    const mrpc_run_config *cfg = c->cfg;
    mrpc_model_options opts;
    memset(&opts, 0, sizeof opts);
    opts.backend = c->on_gpu ? MRPC_BACKEND_CUDA : MRPC_BACKEND_CPU;
    opts.precision = strcmp(cfg->precision, "bf16") == 0 ? MRPC_PRECISION_BF16 : MRPC_PRECISION_FP32;
    opts.n_threads = choose_threads(c);
    int64_t rows = ceil_div(cfg->train_batch_size > cfg->eval_batch_size ? cfg->train_batch_size : cfg->eval_batch_size,
                            c->n_ranks);
    opts.max_batch = (int)rows;
    size_t longest = c->train.max_len > c->valid.max_len ? c->train.max_len : c->valid.max_len;
    opts.max_seq = (int)longest;
    opts.device = c->device;
    /* A GPU wants the whole local batch in one pass (fewer launches, bigger GEMMs); the CPU
     * keeps the default micro-batch, which bounds activation memory. */
    if (c->on_gpu) opts.chunk_tokens = opts.max_batch * opts.max_seq;
    mrpc_status s;
    if (strcmp(cfg->model_path, "random") == 0) {
        mrpc_model_dims dims;
        memset(&dims, 0, sizeof dims);
        dims.dim = (int)cfg->model_dim;
        dims.n_layers = (int)cfg->model_n_layers;
        dims.n_heads = (int)cfg->model_n_heads;
        dims.hidden_dim = (int)cfg->model_hidden_dim;
        dims.vocab_size = (int)mrpc_vocab_size(c->vocab);
        dims.max_positions = (int)cfg->model_max_positions;
        dims.num_labels = 2;
        dims.pad_id = mrpc_vocab_pad_id(c->vocab);
        dims.initializer_range = 0.02;
        s = mrpc_model_create(&dims, &opts, &c->model, err);
        if (s == MRPC_OK) s = mrpc_model_init_random(c->model, (uint64_t)cfg->seed, err);
    } else {
        mrpc_hf_load_report report;
        s = mrpc_model_create_from_hf_report(cfg->model_path, &opts, (uint64_t)cfg->seed, &c->model, NULL, &report,
                                             err);
        /* As HF's from_pretrained says it: unused checkpoint tensors, newly initialised ones (stderr, record). */
        if (s == MRPC_OK && c->rank == 0) {
            if (report.n_unused)
                fprintf(stderr, "mrpc-train: some weights of the model checkpoint at %s were not used when initializing "
                        "DistilBertForSequenceClassification: %s\n", cfg->model_path, report.unused);
            if (report.n_initialized)
                fprintf(stderr, "mrpc-train: some weights of DistilBertForSequenceClassification were not initialized "
                        "from the model checkpoint at %s and are newly initialized: %s\n", cfg->model_path,
                        report.initialized);
            if (c->record) s = mrpc_runrec_set_attr_string(c->record, "checkpoint_unused", report.unused, err);
            if (s == MRPC_OK && c->record)
                s = mrpc_runrec_set_attr_string(c->record, "checkpoint_newly_initialized", report.initialized, err);
        }
        mrpc_hf_load_report_free(&report);
        if (s == MRPC_OK && (size_t)mrpc_model_get_dims(c->model)->vocab_size < mrpc_vocab_size(c->vocab)) {
            s = mrpc_error_set(err, MRPC_ERR_INVALID, cfg->vocab_path, 0, 0, NULL,
                               "the vocabulary has %zu tokens but the checkpoint's model only %d",
                               mrpc_vocab_size(c->vocab), mrpc_model_get_dims(c->model)->vocab_size);
        }
    }
    c->dropouts.hidden = cfg->dropout;
    c->dropouts.attention = cfg->attention_dropout;
    c->dropouts.classifier = cfg->classifier_dropout;
    return s;
}

/*
 * Makes the parameters of every rank equal to rank 0's and checks it cheaply: a
 * checksum of the bytes must agree (its max and min over ranks are equal).
 */
static mrpc_status sync_parameters(train_ctx *c, mrpc_error *err) {
    if (c->n_ranks == 1) return MRPC_OK;
    size_t n = 0;
    mrpc_model_slab(c->model, MRPC_SLAB_PARAMS, &n);
    float *host = malloc(n * sizeof *host);
    if (!host) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    mrpc_model_slab_to_host(c->model, MRPC_SLAB_PARAMS, host);
    mrpc_status s = mrpc_dist_bcast(c->dist, host, n * sizeof *host, 0, err);
    if (s == MRPC_OK) {
        mrpc_model_slab_from_host(c->model, MRPC_SLAB_PARAMS, host);
        mrpc_model_params_changed(c->model);
        mrpc_model_slab_to_host(c->model, MRPC_SLAB_PARAMS, host);
        double sum = (double)(mrpc_fnv1a(MRPC_FNV1A_INIT, host, n * sizeof *host) >> 11);
        double both[2] = {sum, -sum};
        s = mrpc_dist_allreduce_max_f64(c->dist, both, 2, err);
        if (s == MRPC_OK && both[0] != -both[1]) {
            s = mrpc_error_set(err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL,
                               "parameters differ between ranks after the broadcast");
        }
    }
    free(host);
    return s;
}

/* After a resume: the AdamW moments of rank 0 (read from the checkpoint) to every rank. */
static mrpc_status sync_moments(train_ctx *c, mrpc_error *err) {
    size_t n = 0;
    mrpc_model_slab(c->model, MRPC_SLAB_ADAM_M, &n);
    float *host = malloc(n * sizeof *host);
    if (!host) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    mrpc_status s = MRPC_OK;
    for (int k = 0; s == MRPC_OK && k < 2; k++) {
        mrpc_slab_kind which = k == 0 ? MRPC_SLAB_ADAM_M : MRPC_SLAB_ADAM_V;
        mrpc_model_slab_to_host(c->model, which, host);
        s = mrpc_dist_bcast(c->dist, host, n * sizeof *host, 0, err);
        if (s == MRPC_OK) mrpc_model_slab_from_host(c->model, which, host);
    }
    free(host);
    return s;
}

/* The model's view of a rank's batch (dropout, epoch and loss scale set by the caller). */
static mrpc_model_batch model_batch_of(const mrpc_batch *b, uint64_t seed) {
    mrpc_model_batch mb;
    memset(&mb, 0, sizeof mb);
    mb.B = b->n_rows;
    mb.T = b->seq_len;
    mb.ids = b->ids;
    mb.lengths = b->lengths;
    mb.labels = b->labels;
    mb.example_index = b->example_index;
    mb.seed = seed;
    return mb;
}

/* ---- evaluation --------------------------------------------------------------------- */

/* Evaluates on this rank's share of the validation set; every rank gets the metrics. */
static mrpc_status evaluate(train_ctx *c, double *loss_out, mrpc_metrics *metrics, mrpc_error *err) {
    int64_t steps = mrpc_batcher_steps_per_epoch(&c->eval_batches);
    int64_t *preds = calloc(c->n_valid, sizeof *preds);
    int32_t *local = malloc((size_t)c->eval_batches.capacity_rows * sizeof *local);
    if (!preds || !local) {
        free(preds);
        free(local);
        return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    }
    double loss_sum = 0.0;
    mrpc_status s = MRPC_OK;
    for (int64_t k = 0; k < steps && s == MRPC_OK; k++) {
        const mrpc_batch *b;
        s = mrpc_batcher_get(&c->eval_batches, 0, k, 0, &b, err);
        if (s != MRPC_OK || b->n_rows == 0) continue;
        mrpc_model_batch mb = model_batch_of(b, (uint64_t)c->cfg->seed);
        double l = 0.0;
        s = mrpc_model_forward_eval(c->model, &mb, &l, local, NULL, err);
        loss_sum += l;
        for (int i = 0; s == MRPC_OK && i < b->n_rows; i++) preds[b->example_index[i]] = local[i];
    }
    /* Every example belongs to one rank: summing the zero-filled arrays gathers them. */
    mrpc_status agreed = mrpc_dist_agree(c->dist, s, err);
    if (agreed == MRPC_OK) agreed = mrpc_dist_allreduce_sum_i64(c->dist, preds, c->n_valid, err);
    if (agreed == MRPC_OK) agreed = mrpc_dist_allreduce_sum_f64(c->dist, &loss_sum, 1, err);
    if (agreed == MRPC_OK) {
        for (size_t i = 0; i < c->n_valid; i++) c->predictions[i] = (int32_t)preds[i];
        *metrics = mrpc_metrics_compute(c->predictions, c->labels, c->n_valid);
        *loss_out = loss_sum / (double)c->n_valid;
    }
    free(preds);
    free(local);
    return agreed;
}

/* ---- the run record (rank 0) --------------------------------------------------------- */

static mrpc_status open_record(train_ctx *c, int resuming, mrpc_error *err) {
    if (c->rank != 0) return MRPC_OK;
    const mrpc_run_config *cfg = c->cfg;
    mrpc_status s = mrpc_mkdir_parent(cfg->output, err);
    if (s != MRPC_OK) return s;
    if (resuming) {
        s = mrpc_runrec_resume(cfg->output, c->progress.steps_done, c->progress.evals_done, &c->record, err);
        if (s == MRPC_OK) s = mrpc_runrec_set_attr_string(c->record, "hosts", c->hosts, err); /* of this start */
        return s;
    }
    char host[128] = "unknown";
    if (gethostname(host, sizeof host) != 0) mrpc_str_copy(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    mrpc_hparam hp[MRPC_RUNREC_MAX_HPARAMS];
    size_t n_hp = mrpc_run_config_hparams(cfg, hp, MRPC_RUNREC_MAX_HPARAMS);
    mrpc_runrec_meta meta = {cfg->run_id, cfg->stage, host, c->n_ranks, cfg->backend, cfg->precision, c->config_yaml};
    s = mrpc_runrec_create(cfg->output, &meta, hp, n_hp, &c->record, err);
    if (s == MRPC_OK) s = mrpc_runrec_set_attr_string(c->record, "hosts", c->hosts, err);
    return s;
}

/* The /checkpoints group of the record as it stands (`note` says what became of the checkpoint). */
static mrpc_runrec_checkpoints checkpoint_summary(const train_ctx *c, int kept, const char *note) {
    mrpc_runrec_checkpoints ck = {c->cfg->save_strategy,
                                  !strcmp(c->cfg->save_strategy, "steps")     ? (double)c->cfg->save_steps
                                  : !strcmp(c->cfg->save_strategy, "minutes") ? c->cfg->save_minutes
                                                                              : 0.0,
                                  c->ckstats.written, c->ckstats.failed, c->ckstats.seconds, c->ckstats.resumes,
                                  c->ckstats.steps_redone, kept, note};
    return ck;
}

/* Ends the record with a final status (rank 0). For failures `reason` says why. */
static void close_record(train_ctx *c, mrpc_run_status status, const char *reason, int with_summary,
                         mrpc_error *err) {
    if (c->rank != 0 || !c->record) return;
    mrpc_error local = {0};
    if (with_summary) {
        if (mrpc_runrec_write_predictions(c->record, c->predictions, c->labels, c->n_valid, &local) != MRPC_OK) {
            mrpc_error_print(stderr, "mrpc-train", &local);
        }
    }
    mrpc_runrec_summary sum = {c->last_accuracy, c->last_f1, c->progress.best_accuracy, c->progress.train_seconds,
                               c->progress.compute_seconds > 0 ? (double)c->progress.tokens_done /
                                                                     c->progress.compute_seconds : NAN};
    /* What became of the resume checkpoint: every final status removes it (a completed run
     * needs none; a failed or diverged one is final, and a rerun starts from scratch). */
    char note[1024];
    snprintf(note, sizeof note, "%s%s%s",
             status == MRPC_RUN_COMPLETED ? "removed: the run completed"
             : status == MRPC_RUN_DIVERGED ? "removed: the run diverged (resuming would diverge again)"
                                           : "removed: the run failed (its record is final; a rerun starts from step 0)",
             c->checkpoint_note[0] ? "; last write failure: " : "", c->checkpoint_note);
    mrpc_runrec_checkpoints ck = checkpoint_summary(c, 0, note);
    if (mrpc_runrec_set_checkpoints(c->record, &ck, &local) != MRPC_OK) mrpc_error_print(stderr, "mrpc-train", &local);
    mrpc_status s = mrpc_runrec_finish(c->record, status, reason, with_summary ? &sum : NULL, &local);
    c->record = NULL;
    if (s != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train", &local);
        if (err && err->status == MRPC_OK) *err = local;
    }
}

/*
 * Rank 0, when the cluster failed the run (a lost rank, too many requeues): the record says
 * failed, why, and /@failure = `kind`; the checkpoint, when there is one, is kept, so that
 * starting the run again resumes from it (readers treat such a record as one to retry).
 */
static void cluster_failure_record(train_ctx *c, const char *kind, const char *reason) {
    fprintf(stderr, "mrpc-train: %s %s\n", c->cfg->run_id, reason);
    if (!c->record) return;
    mrpc_error local = {0};
    char note[1024];
    snprintf(note, sizeof note, "%s%s%s",
             c->checkpoint_step >= 0 ? "kept: the cluster failed the run, which resumes from the checkpoint"
                                     : "none: the cluster failed the run before its first checkpoint",
             c->checkpoint_note[0] ? "; last write failure: " : "", c->checkpoint_note);
    mrpc_runrec_checkpoints ck = checkpoint_summary(c, c->checkpoint_step >= 0, note);
    mrpc_status s = mrpc_runrec_set_attr_string(c->record, "failure", kind, &local);
    if (s == MRPC_OK) s = mrpc_runrec_set_checkpoints(c->record, &ck, &local);
    if (s == MRPC_OK) s = mrpc_runrec_finish(c->record, MRPC_RUN_FAILED, reason, NULL, &local);
    else mrpc_runrec_abandon(c->record); /* the record stays "running": also retried */
    c->record = NULL;
    if (s != MRPC_OK) mrpc_error_print(stderr, "mrpc-train", &local);
}

/* Rank 0 after a lost rank (or network): /@failure "lost_rank". */
static void lost_rank_record(train_ctx *c, const mrpc_error *err) {
    char buf[600], from[96], reason[900];
    mrpc_error_format(err, buf, sizeof buf);
    if (c->checkpoint_step >= 0) snprintf(from, sizeof from, "the checkpoint after step %lld", (long long)c->checkpoint_step);
    else snprintf(from, sizeof from, "the start (no checkpoint was written yet)");
    snprintf(reason, sizeof reason, "lost a rank or its network at step %lld (%s); the run continues from %s when "
             "started again", (long long)c->progress.steps_done, buf, from);
    cluster_failure_record(c, "lost_rank", reason);
}

/* The call watch's takeover (dist.h, mrpc_dist_watch_stuck): this rank's main thread is
 * stuck inside an MPI call after a stop signal (Open MPI deadlocked on a dead peer's
 * connection), so this runs on the watch thread while the trainer's own code is idle:
 * rank 0 records the lost rank as the polled path would; then the process exits. */
static void stuck_in_mpi(void *ctx, const char *call, double seconds) {
    train_ctx *c = ctx;
    if (c->rank != 0) return;
    mrpc_error e;
    mrpc_error_set(&e, MRPC_ERR_MPI, NULL, 0, 0, call, "rank 0: %s did not return for %.0f s after a stop signal "
                   "(the MPI library is stuck on the connection to a lost rank)", call, seconds);
    lost_rank_record(c, &e);
}

/* Seconds a collective may wait after a stop signal before the peers count as lost: three
 * times the slowest step so far (a step that waited for rank 0's checkpoint write counts
 * it), at least 3 s plus rank 0's first checkpoint write at 100 MB/s (parameters and two
 * moments), and at most half of the time Slurm leaves between the stop signal and SIGKILL
 * (KillWait, --kill-wait) and 20 s: the other half is for srun's signal to arrive and for
 * the failure record to be written. A slow step (a checkpoint written to a slow disk) must
 * not stretch the wait past SIGKILL, which would leave the record "running" with no
 * reason (CI saw that with KillWait 10). Wrongly seeing a lost rank costs little: the run
 * is then retried from its latest checkpoint instead of the stop's. */
static double stop_grace(const train_ctx *c, double slowest) {
    size_t n = 0;
    if (c->model) mrpc_model_slab(c->model, MRPC_SLAB_PARAMS, &n);
    double floor = 3.0 + 3.0 * (double)n * sizeof(float) / 1e8;
    double g = 3.0 * slowest > floor ? 3.0 * slowest : floor;
    double kill_wait = c->opts->kill_wait_seconds > 0 ? c->opts->kill_wait_seconds : 30.0;
    double ceiling = kill_wait / 2 < 20.0 ? kill_wait / 2 : 20.0;
    if (ceiling < 1.0) ceiling = 1.0;
    return g > ceiling ? ceiling : g;
}

/* ---- the loop ----------------------------------------------------------------------- */

/* ---- bucketed gradient all-reduce ---------------------------------------------------- */

static mrpc_status sync_init(train_ctx *c, mrpc_error *err) {
    grad_sync *g = &c->sync;
    memset(g, 0, sizeof *g);
    g->dist = c->dist;
    g->n_buckets = mrpc_model_grad_buckets(c->model, NULL, NULL, 0);
    g->offset = calloc(g->n_buckets, sizeof *g->offset);
    g->count = calloc(g->n_buckets, sizeof *g->count);
    g->req = calloc(g->n_buckets, sizeof *g->req);
    if (!g->offset || !g->count || !g->req) return mrpc_error_set(err, MRPC_ERR_NOMEM, NULL, 0, 0, NULL, "out of memory");
    mrpc_model_grad_buckets(c->model, g->offset, g->count, g->n_buckets);
    g->grads = mrpc_model_grads(c->model, NULL);
    return MRPC_OK;
}

static void sync_free(grad_sync *g) {
    free(g->offset);
    free(g->count);
    free(g->req);
    memset(g, 0, sizeof *g);
}

/* Posts the next bucket of the schedule, and lets the earlier ones progress. */
static void sync_post_next(grad_sync *g) {
    double t0 = mrpc_seconds_now();
    size_t k = g->posted++;
    if (g->status == MRPC_OK) {
        g->status = mrpc_dist_iallreduce_sum_f32(g->dist, g->grads + g->offset[k], g->count[k], &g->req[k], &g->err);
    }
    for (size_t j = 0; j < k && g->status == MRPC_OK; j++) g->status = mrpc_dist_test(g->dist, &g->req[j], NULL, &g->err);
    g->seconds += mrpc_seconds_now() - t0;
}

/* The model's hook: a range is final. It must be the next one of the schedule. */
static void on_grads_ready(void *ctx, size_t offset, size_t n_elems) {
    grad_sync *g = ctx;
    if (g->posted >= g->n_buckets || g->offset[g->posted] != offset || g->count[g->posted] != n_elems) {
        if (g->status == MRPC_OK) {
            g->status = mrpc_error_set(&g->err, MRPC_ERR_INTERNAL, NULL, 0, 0, NULL,
                                       "gradient bucket out of order (%zu of %zu)", g->posted, g->n_buckets);
        }
        return;
    }
    sync_post_next(g);
}

/* Posts what the backward pass did not, then waits for every bucket. */
static mrpc_status sync_finish(grad_sync *g, mrpc_error *err) {
    while (g->posted < g->n_buckets) sync_post_next(g);
    double t0 = mrpc_seconds_now();
    for (size_t k = 0; k < g->n_buckets; k++) {
        mrpc_error e = {0};
        mrpc_status s = mrpc_dist_wait(g->dist, &g->req[k], &e);
        if (s != MRPC_OK && g->status == MRPC_OK) {
            g->status = s;
            g->err = e;
        }
    }
    g->seconds += mrpc_seconds_now() - t0;
    mrpc_status s = g->status;
    if (s != MRPC_OK && err) *err = g->err;
    g->posted = 0;
    g->status = MRPC_OK;
    return s;
}

/* One optimizer step; sets *stop when a rank asked to stop, *diverged on NaN/inf. */
static mrpc_status train_step(train_ctx *c, int64_t epoch, int64_t step_in_epoch, int *stop, int *diverged,
                              mrpc_error *err) {
    const mrpc_run_config *cfg = c->cfg;
    const mrpc_batch *b = NULL;
    double loss_sum = 0.0;
    mrpc_model_zero_grad(c->model);
    mrpc_status s = mrpc_batcher_get(&c->train_batches, epoch, step_in_epoch, 1, &b, err);
    if (s == MRPC_OK && b->n_rows > 0) {
        mrpc_model_batch mb = model_batch_of(b, (uint64_t)cfg->seed);
        mb.epoch = (uint32_t)epoch;
        mb.dropout = c->dropouts;
        mb.loss_scale = 1.0 / (double)b->global_size;
        s = mrpc_model_forward_backward(c->model, &mb, &loss_sum, NULL, err);
    }
    if (c->bucketed) {
        mrpc_error sync_err = {0};
        mrpc_status ss = sync_finish(&c->sync, &sync_err);
        if (s == MRPC_OK && ss != MRPC_OK) {
            s = ss;
            *err = sync_err;
        }
    }
    /* One small all-reduce per step carries the loss, the tokens, stop requests and
     * failures, so that every rank takes the same branch below. */
    int stop_local = mrpc_stop_signals_requested(c->opts->stop) != 0;
    if (s == MRPC_OK && c->deferred.status != MRPC_OK) { /* rank 0's record failed in the last checkpoint */
        s = c->deferred.status;
        *err = c->deferred;
    }
    double small[4] = {loss_sum, b ? (double)b->n_tokens : 0.0, stop_local ? 1.0 : 0.0, s != MRPC_OK ? 1.0 : 0.0};
    mrpc_error comm = {0};
    mrpc_status cs = mrpc_dist_allreduce_sum_f64(c->dist, small, 4, &comm);
    if (cs != MRPC_OK) { *err = comm; return cs; }
    if (small[3] > 0) return mrpc_dist_agree(c->dist, s, err);
    size_t n = 0;
    float *grads = mrpc_model_grads(c->model, &n);
    if (c->n_ranks > 1 && !c->bucketed) {
#if defined(MRPC_HAVE_NCCL)
        if (c->on_gpu) {
            /* Device gradients: NCCL on the backend's stream. */
            s = mrpc_nccl_allreduce_sum_f32(c->nccl, grads, n, mrpc_backend_cuda_stream(mrpc_model_backend(c->model)),
                                            err);
        } else
#endif
            s = mrpc_dist_allreduce_sum_f32(c->dist, grads, n, err);
        if (s != MRPC_OK) return s;
    }
    double loss = small[0] / (double)b->global_size;
    double norm = mrpc_model_clip_grad_norm(c->model, cfg->max_grad_norm);
    int64_t k = c->progress.steps_done + 1;
    if (cfg->debug_nan_at_step == k) loss = NAN; /* fault injection for the divergence test */
    double lr = mrpc_lr_linear_at_update(cfg->learning_rate, k, cfg->warmup_steps, c->total_steps);
    if (!isfinite(loss) || !isfinite(norm)) {
        *diverged = 1;
        if (c->rank == 0 && c->record) {
            mrpc_status rs = mrpc_runrec_append_train(c->record, k, loss, lr, norm, err);
            if (rs != MRPC_OK) return rs;
        }
        return MRPC_OK;
    }
    mrpc_adamw_hparams hp = {lr, cfg->adam_beta1, cfg->adam_beta2, cfg->adam_epsilon, cfg->weight_decay, k};
    s = mrpc_model_adamw_step(c->model, &hp, err);
    if (s != MRPC_OK) return s;
    c->progress.steps_done = k;
    c->progress.tokens_done += (int64_t)small[1];
    c->last_loss = loss;
    if (c->rank == 0) {
        s = mrpc_runrec_append_train(c->record, k, loss, lr, norm, err);
        if (s != MRPC_OK) return s;
    }
    *stop = small[2] > 0;
    return MRPC_OK;
}

static void print_progress(const train_ctx *c, int64_t epoch, double loss, double lr, double elapsed,
                           double tokens_per_second) {
    double done = (double)c->progress.steps_done / (double)c->total_steps;
    char eta[32];
    format_duration(done > 0 ? elapsed * (1.0 - done) / done : -1.0, eta, sizeof eta);
    fprintf(stderr, "mrpc-train: %s step %lld/%lld (%.0f%%) epoch %lld/%lld loss %.4f lr %.3g tok/s %.0f eta %s\n",
            c->cfg->run_id, (long long)c->progress.steps_done, (long long)c->total_steps, 100.0 * done,
            (long long)epoch + 1, (long long)c->cfg->num_epochs, loss, lr, tokens_per_second, eta);
}

/* ---- resume checkpoints (rank 0) ----------------------------------------------------- */

/* A record larger than this is not copied into a checkpoint (a record of 100,000 steps is 4 MB). */
#define RECORD_COPY_MAX ((size_t)1 << 30)

/* Rank 0: the checkpoint counts to their file (a failure only loses bookkeeping: said, not fatal). */
static void save_stats(train_ctx *c) {
    mrpc_error e = {0};
    if (mrpc_checkpoint_stats_save(c->stats_path, &c->ckstats, &e) != MRPC_OK)
        mrpc_error_print(stderr, "mrpc-train: warning: checkpoint counts not saved", &e);
}

/* Rank 0, when the run ends: the checkpoint and its counts go (the record has the counts). */
static void remove_checkpoint(train_ctx *c) {
    if (c->rank != 0) return;
    remove(c->cfg->resume_checkpoint);
    remove(c->stats_path);
}

/*
 * Writes the resume checkpoint: the record is flushed first and its bytes go into the
 * checkpoint, so that the two always agree (a process killed after the checkpoint may
 * leave its record with later entries, or half-written; resuming puts this copy back).
 * Returns the record's status: a record that cannot be flushed fails the run. Whether
 * the checkpoint itself was written is *written (on failure ckpt_err says why, and the
 * previous checkpoint is untouched).
 */
static mrpc_status write_checkpoint(train_ctx *c, int *written, mrpc_error *ckpt_err, mrpc_error *err) {
    *written = 0;
    double t0 = mrpc_seconds_now();
    mrpc_status s = mrpc_runrec_flush(c->record, err);
    if (s != MRPC_OK) return s;
    char *bytes = NULL;
    size_t n = 0;
    mrpc_status cs = mrpc_file_read_all(c->cfg->output, RECORD_COPY_MAX, &bytes, &n, ckpt_err);
    if (cs == MRPC_OK) cs = mrpc_resume_write(c->cfg->resume_checkpoint, c->model, &c->progress, bytes, n, ckpt_err);
    free(bytes);
    double now = mrpc_seconds_now();
    if (cs == MRPC_OK) {
        c->ckstats.written++;
        c->ckstats.seconds += now - t0;
        save_stats(c);
        c->checkpoint_step = c->progress.steps_done;
        *written = 1;
    }
    c->last_checkpoint_time = now; /* after a failure too: the next try is a period later */
    return MRPC_OK;
}

/*
 * The periodic checkpoint, as save_strategy says, after a finished step (and its
 * evaluation). Only rank 0 writes: every rank holds the same parameters and moments. A
 * checkpoint that cannot be written does not end the run: it is said on stderr and in
 * the record, the previous one stays, and training goes on. A record that cannot be
 * flushed is the run's failure, reported to every rank at the next step.
 */
static void maybe_checkpoint(train_ctx *c, int epoch_done) {
    const mrpc_run_config *cfg = c->cfg;
    if (c->rank != 0 || c->progress.steps_done >= c->total_steps) return;
    int due = 0;
    if (strcmp(cfg->save_strategy, "epoch") == 0) due = epoch_done;
    else if (strcmp(cfg->save_strategy, "steps") == 0) due = c->progress.steps_done % cfg->save_steps == 0;
    else if (strcmp(cfg->save_strategy, "minutes") == 0)
        due = mrpc_seconds_now() - c->last_checkpoint_time >= 60.0 * cfg->save_minutes;
    if (!due) return;
    mrpc_error ckpt_err = {0}, rec_err = {0};
    int written = 0;
    double seconds_before = c->ckstats.seconds;
    if (write_checkpoint(c, &written, &ckpt_err, &rec_err) != MRPC_OK) {
        c->deferred = rec_err;
        return;
    }
    if (written) {
        if (!c->opts->quiet)
            fprintf(stderr, "mrpc-train: %s checkpoint after step %lld written in %.2f s\n", cfg->run_id,
                    (long long)c->progress.steps_done, c->ckstats.seconds - seconds_before);
        return;
    }
    c->ckstats.failed++;
    save_stats(c);
    char why[400], kept[80];
    mrpc_error_format(&ckpt_err, why, sizeof why);
    snprintf(c->checkpoint_note, sizeof c->checkpoint_note, "after step %lld: %s", (long long)c->progress.steps_done,
             why);
    if (c->checkpoint_step >= 0) snprintf(kept, sizeof kept, "the one after step %lld stays", (long long)c->checkpoint_step);
    else snprintf(kept, sizeof kept, "there is no earlier one");
    fprintf(stderr, "mrpc-train: %s warning: the checkpoint after step %lld could not be written (%s); %s, and "
                    "training goes on\n",
            cfg->run_id, (long long)c->progress.steps_done, why, kept);
}

/*
 * Rank 0, when the run resumes from a checkpoint: puts back the copy of the record the
 * checkpoint holds (version 2), after counting the steps the dead process had logged
 * beyond it (the steps trained again; the record is flushed every 256 steps and at each
 * evaluation, so this counts what reached the disk). Version 1 checkpoints have no copy,
 * and a copy that cannot be put back (disk full) is skipped: the record on disk is then
 * reopened and cut back to the checkpoint, or marked failed when even that fails.
 */
static void restore_record(train_ctx *c) {
    c->checkpoint_step = c->progress.steps_done;
    mrpc_error e = {0};
    if (mrpc_checkpoint_stats_load(c->stats_path, &c->ckstats, &e) != MRPC_OK) {
        mrpc_error_print(stderr, "mrpc-train: warning", &e); /* bookkeeping only: count afresh */
        memset(&c->ckstats, 0, sizeof c->ckstats);
    }
    c->ckstats.resumes++;
    mrpc_runrec rec;
    if (c->progress.has_record && mrpc_runrec_read(c->cfg->output, MRPC_RUNREC_READ_SERIES, &rec, NULL) == MRPC_OK) {
        if ((int64_t)rec.n_train > c->progress.steps_done)
            c->ckstats.steps_redone += (int64_t)rec.n_train - c->progress.steps_done;
        mrpc_runrec_clear(&rec);
    }
    save_stats(c);
    if (!c->progress.has_record) return;
    unsigned char *bytes = NULL;
    size_t n = 0;
    memset(&e, 0, sizeof e);
    mrpc_status s = mrpc_resume_read_record(c->cfg->resume_checkpoint, &bytes, &n, &e);
    if (s == MRPC_OK) s = mrpc_file_write_atomic(c->cfg->output, bytes, n, &e);
    free(bytes);
    if (s != MRPC_OK) {
        /* E.g. a full disk: the record on disk is reopened and cut back to the checkpoint
         * instead (what version 1 checkpoints do); when that fails too, it is marked failed. */
        mrpc_error_print(stderr, "mrpc-train: warning: the record could not be put back from the checkpoint", &e);
        c->progress.has_record = 0;
    }
}

/* Rank 0: the record at the output says "completed" (read without its series). */
static int record_completed(const train_ctx *c) {
    mrpc_runrec rec;
    if (mrpc_runrec_read(c->cfg->output, MRPC_RUNREC_READ_ATTRS_ONLY, &rec, NULL) != MRPC_OK) return 0;
    int done = rec.status == MRPC_RUN_COMPLETED && strcmp(rec.run_id, c->cfg->run_id) == 0;
    mrpc_runrec_clear(&rec);
    return done;
}

/* ---- pausing at a rung boundary (pause_after_epoch) ----------------------------------- */

/* The epoch after which this run pauses: pause_after_epoch when 0 < it < num_epochs, else 0 (to the end). */
static int64_t pause_epoch(const train_ctx *c) {
    int64_t k = c->cfg->pause_after_epoch;
    return k > 0 && k < c->cfg->num_epochs ? k : 0;
}

/* Rank 0: the epoch after which the record at the output says this run paused; 0 when it does not. */
static int64_t record_paused_epoch(const train_ctx *c) {
    mrpc_runrec rec;
    if (mrpc_runrec_read(c->cfg->output, MRPC_RUNREC_READ_ATTRS_ONLY, &rec, NULL) != MRPC_OK) return 0;
    int64_t p = rec.status == MRPC_RUN_PAUSED && strcmp(rec.run_id, c->cfg->run_id) == 0 ? rec.paused_epoch : 0;
    mrpc_runrec_clear(&rec);
    return p;
}

/*
 * 1 when the run stands at an epoch boundary at or after its pause epoch (that epoch's
 * evaluation done: a checkpoint is only ever taken after it) and before its end. A run
 * resumed past the pause epoch (a stop checkpoint, then a smaller pause_after_epoch)
 * pauses at the next boundary.
 */
static int pause_due(const train_ctx *c) {
    int64_t k = pause_epoch(c), s = c->progress.steps_done;
    if (k == 0 || c->pause_failed) return 0;
    return s >= k * c->steps_per_epoch && s % c->steps_per_epoch == 0 && s < c->total_steps;
}

/*
 * Pauses the run where it stands (every rank): rank 0 writes the resume checkpoint (the
 * record flushed and copied into it), then ends the record as "paused" after this epoch
 * with the checkpoint kept (/checkpoints@kept = 1). A checkpoint that cannot be written
 * means the run could not continue later: it does not pause, says so, and trains on to the
 * end. Sets *paused; returns the record's failure (agreed by every rank).
 */
static mrpc_status pause_run(train_ctx *c, int *paused, mrpc_error *err) {
    *paused = 0;
    const int64_t epoch = c->progress.steps_done / c->steps_per_epoch;
    mrpc_status s = MRPC_OK;
    int written = 0;
    if (c->rank == 0) {
        mrpc_error ckpt_err = {0};
        s = write_checkpoint(c, &written, &ckpt_err, err);
        if (s == MRPC_OK && !written) {
            char why[400];
            mrpc_error_format(&ckpt_err, why, sizeof why);
            c->ckstats.failed++;
            save_stats(c);
            snprintf(c->checkpoint_note, sizeof c->checkpoint_note, "pausing after epoch %lld: %s", (long long)epoch,
                     why);
            fprintf(stderr, "mrpc-train: %s warning: cannot pause after epoch %lld: the resume checkpoint could not be "
                            "written (%s); the run goes on to the end instead\n",
                    c->cfg->run_id, (long long)epoch, why);
        }
    }
    s = mrpc_dist_agree(c->dist, s, err);
    if (s == MRPC_OK) s = mrpc_dist_bcast(c->dist, &written, sizeof written, 0, err);
    if (s != MRPC_OK) return s;
    if (!written) {
        c->pause_failed = 1;
        return MRPC_OK;
    }
    if (c->rank == 0) {
        char reason[128], note[1024];
        snprintf(reason, sizeof reason, "paused after epoch %lld of %lld", (long long)epoch,
                 (long long)c->cfg->num_epochs);
        snprintf(note, sizeof note, "kept: the run paused after epoch %lld (pause_after_epoch); started again with a "
                                    "larger pause_after_epoch or 0 it continues from here%s%s",
                 (long long)epoch, c->checkpoint_note[0] ? "; last write failure: " : "", c->checkpoint_note);
        mrpc_runrec_checkpoints ck = checkpoint_summary(c, 1, note);
        s = mrpc_runrec_set_checkpoints(c->record, &ck, err);
        if (s == MRPC_OK) {
            s = mrpc_runrec_pause(c->record, epoch, reason, err);
            c->record = NULL; /* freed, even on failure */
        }
    }
    s = mrpc_dist_agree(c->dist, s, err);
    *paused = s == MRPC_OK;
    return s;
}

/* Says which temporary file of a killed process's atomic write was removed. */
static void report_stale_temp(void *ctx, const char *removed) {
    (void)ctx;
    fprintf(stderr, "mrpc-train: removed %s, left by a process killed while writing it\n", removed);
}

/*
 * On a stop signal: writes the resume checkpoint on rank 0 and leaves the record
 * "running" (exit 75). When it cannot be written (disk full, I/O error) and an earlier
 * checkpoint of this run exists, that one stays and the run resumes from it (exit 75
 * still). With no earlier one, or when the record itself cannot be written, the run
 * cannot continue later: the record is finished as "failed" with the reason (when that
 * can be written), so that it agrees with the exit code 1, and no checkpoint is left.
 */
static mrpc_status checkpoint_and_stop(train_ctx *c, mrpc_error *err) {
    mrpc_status s = MRPC_OK;
    if (c->rank == 0) {
        const char *what = "the run record could not be written";
        mrpc_error ckpt_err = {0};
        int written = 0;
        s = write_checkpoint(c, &written, &ckpt_err, err);
        if (s == MRPC_OK && !written) {
            what = "the resume checkpoint could not be written";
            char why[700];
            mrpc_error_format(&ckpt_err, why, sizeof why);
            if (c->checkpoint_step >= 0) {
                fprintf(stderr, "mrpc-train: %s stopped at step %lld but %s (%s); the checkpoint after step %lld stays "
                                "and the run resumes from there\n",
                        c->cfg->run_id, (long long)c->progress.steps_done, what, why, (long long)c->checkpoint_step);
                mrpc_runrec_abandon(c->record); /* status stays "running" */
                c->record = NULL;
                return mrpc_dist_agree(c->dist, MRPC_OK, err);
            }
            s = ckpt_err.status;
            *err = ckpt_err;
        }
        if (s == MRPC_OK) {
            mrpc_runrec_abandon(c->record); /* flushes; status stays "running" */
            c->record = NULL;
            if (!c->opts->quiet) {
                fprintf(stderr, "mrpc-train: %s stopped at step %lld; resume checkpoint %s\n", c->cfg->run_id,
                        (long long)c->progress.steps_done, c->cfg->resume_checkpoint);
            }
        } else {
            char why[900], reason[1024];
            mrpc_error_format(err, why, sizeof why);
            snprintf(reason, sizeof reason, "stopped at step %lld but %s: %s", (long long)c->progress.steps_done, what,
                     why);
            remove_checkpoint(c); /* a stale one must not be resumed from */
            fprintf(stderr, "mrpc-train: %s %s; the run is recorded as failed\n", c->cfg->run_id, reason);
            close_record(c, MRPC_RUN_FAILED, reason, 0, NULL);
        }
    }
    return mrpc_dist_agree(c->dist, s, err);
}

/* ---- entry -------------------------------------------------------------------------- */

static void free_ctx(train_ctx *c) {
    /* The call watch must not take over with a context that is going away. */
    mrpc_error ignored = {0};
    mrpc_dist_watch_stuck(c->dist, NULL, NULL, c->opts->interrupted_exit_code, &ignored);
    mrpc_runrec_abandon(c->record);
    sync_free(&c->sync);
#if defined(MRPC_HAVE_NCCL)
    mrpc_nccl_free(c->nccl);
#endif
    mrpc_model_free(c->model);
    mrpc_batcher_free(&c->train_batches);
    mrpc_batcher_free(&c->eval_batches);
    mrpc_dataset_free(&c->train);
    mrpc_dataset_free(&c->valid);
    mrpc_vocab_free(c->vocab);
    free(c->config_yaml);
    free(c->predictions);
    free(c->labels);
}

/*
 * Records a run that gave up after too many requeues (rank 0): a fresh record with
 * status "failed" and the reason, and the resume checkpoint removed.
 */
/*
 * Requeued more than --max-restarts times (preemptions, node failures, time limits): this
 * array task stops trying. The record says failed with /@failure "requeues" and keeps the
 * checkpoint, so the study's retry (a new task, its restart count 0) resumes from it; the
 * study's `retries` bounds the whole.
 */
static mrpc_status give_up(train_ctx *c, int resuming, mrpc_train_result *result, mrpc_error *err) {
    char reason[320];
    snprintf(reason, sizeof reason, "requeued %d times, more than --max-restarts %d (preemptions, node failures or "
             "time limits); the study retries the run%s", c->opts->restart_count, c->opts->max_restarts,
             resuming ? " from its checkpoint" : "");
    mrpc_status s = MRPC_OK;
    if (c->rank == 0) {
        if (resuming) {
            c->ckstats.resumes--; /* restore_record counted a resume that does not happen */
            save_stats(c);
        }
        s = open_record(c, resuming, err);
        if (s == MRPC_OK) cluster_failure_record(c, "requeues", reason);
    }
    s = mrpc_dist_agree(c->dist, s, err);
    if (s != MRPC_OK) return s;
    result->outcome = MRPC_TRAIN_GAVE_UP;
    mrpc_error_set(err, MRPC_ERR_INTERRUPTED, c->cfg->output, 0, 0, NULL, "%s", reason);
    return MRPC_OK;
}

mrpc_status mrpc_train_run(const mrpc_run_config *cfg, mrpc_dist *dist, const mrpc_train_options *opts,
                           mrpc_train_result *result, mrpc_error *err) {
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    const double started_at = (double)wall.tv_sec + 1e-9 * (double)wall.tv_nsec; /* for stale temp files */
    train_ctx ctx;
    train_ctx *c = &ctx;
    memset(c, 0, sizeof *c);
    c->checkpoint_step = -1;
    c->cfg = cfg;
    c->opts = opts;
    c->dist = dist;
    c->rank = mrpc_dist_rank(dist);
    c->n_ranks = mrpc_dist_size(dist);
    c->progress.best_accuracy = NAN;
    c->last_accuracy = c->last_f1 = NAN;
    memset(result, 0, sizeof *result);
    result->outcome = MRPC_TRAIN_FAILED;
    result->accuracy = result->f1 = NAN;
    mrpc_str_copy(c->progress.run_id, sizeof c->progress.run_id, cfg->run_id);

    /* A lost rank is seen from the first collective on: by the stop watch when MPI_Test
     * returns, by the call watch when it does not (then rank 0 records it from there). */
    mrpc_dist_watch_stop(dist, mrpc_stop_signals_probe, opts->stop, stop_grace(c, 0.0));
    mrpc_status s = mrpc_dist_watch_stuck(dist, stuck_in_mpi, c, opts->interrupted_exit_code, err);
    if (s != MRPC_OK) return s;

    s = mrpc_run_config_to_yaml(cfg, 0, &c->config_yaml, err);
    if (s == MRPC_OK) s = mrpc_run_config_hash(cfg, &c->config_hash, err);
    c->progress.config_hash = c->config_hash;
    /* A checkpoint written before progress and save settings left the hash carries the
     * hash of the whole recorded config: a run paused or interrupted then still resumes. */
    if (s == MRPC_OK)
        c->progress.legacy_config_hash = mrpc_fnv1a(MRPC_FNV1A_INIT, c->config_yaml, strlen(c->config_yaml));
    snprintf(c->stats_path, sizeof c->stats_path, "%s.stats", cfg->resume_checkpoint);

    /* A resume checkpoint beside the record means this run was interrupted: rank 0
     * reads where it stood (metadata only), everyone follows. */
    int resuming = 0, finished = 0;
    /* A run that paused after epoch P and is asked to pause there or earlier: nothing to do. */
    int64_t already = 0;
    if (s == MRPC_OK && c->rank == 0 && mrpc_path_exists(cfg->output)) {
        int64_t p = record_paused_epoch(c);
        if (p > 0 && pause_epoch(c) > 0 && pause_epoch(c) <= p) already = p;
        else if (p > 0 && !mrpc_path_exists(cfg->resume_checkpoint))
            fprintf(stderr, "mrpc-train: %s had paused after epoch %lld but its resume checkpoint %s is gone (cleaned "
                            "up?): training again from the start\n",
                    cfg->run_id, (long long)p, cfg->resume_checkpoint);
    }
    if (s == MRPC_OK) s = mrpc_dist_bcast(dist, &already, sizeof already, 0, err);
    if (s == MRPC_OK && already > 0) {
        if (c->rank == 0) {
            fprintf(stderr, "mrpc-train: %s is already paused after epoch %lld (record %s); nothing to do: run it "
                            "with pause_after_epoch 0 or larger than %lld to continue\n",
                    cfg->run_id, (long long)already, cfg->output, (long long)already);
        }
        result->outcome = MRPC_TRAIN_PAUSED;
        free_ctx(c);
        return MRPC_OK;
    }
    if (s == MRPC_OK && c->rank == 0 && mrpc_path_exists(cfg->resume_checkpoint) && mrpc_path_exists(cfg->output)) {
        mrpc_resume_state expect = c->progress;
        s = mrpc_resume_read_state(cfg->resume_checkpoint, &expect, &c->progress, err);
        resuming = s == MRPC_OK;
        c->progress.config_hash = c->config_hash; /* later checkpoints carry today's hash */
        c->progress.legacy_config_hash = expect.legacy_config_hash;
        finished = resuming && record_completed(c);
        if (resuming && !finished) restore_record(c);
    }
    s = mrpc_dist_agree(dist, s, err);
    if (s == MRPC_OK) s = mrpc_dist_bcast(dist, &c->progress, sizeof c->progress, 0, err);
    if (s == MRPC_OK) s = mrpc_dist_bcast(dist, &resuming, sizeof resuming, 0, err);
    if (s == MRPC_OK) s = mrpc_dist_bcast(dist, &finished, sizeof finished, 0, err);
    if (s == MRPC_OK && finished) {
        /* The process before was killed between finishing the record and removing its
         * checkpoint: the run is complete, only the checkpoint is stale. */
        if (c->rank == 0) {
            fprintf(stderr, "mrpc-train: %s had completed (record %s); removed its stale resume checkpoint\n",
                    cfg->run_id, cfg->output);
        }
        remove_checkpoint(c);
        result->outcome = MRPC_TRAIN_COMPLETED;
        free_ctx(c);
        return MRPC_OK;
    }

    /* The record first, so that anything failing from here on is recorded as failed. */
    if (s == MRPC_OK) s = mrpc_rank_hosts(dist, c->hosts, sizeof c->hosts, err);
    if (s == MRPC_OK && opts->max_restarts >= 0 && opts->restart_count > opts->max_restarts) {
        s = give_up(c, resuming, result, err);
        free_ctx(c);
        return s;
    }
    if (s == MRPC_OK) s = mrpc_dist_agree(dist, open_record(c, resuming, err), err);
    if (s == MRPC_OK && c->rank == 0) {
        /* Temp files older than this process (under the record's lock: no other writer). */
        mrpc_remove_stale_temps(cfg->resume_checkpoint, started_at, report_stale_temp, NULL);
        mrpc_remove_stale_temps(c->stats_path, started_at, report_stale_temp, NULL);
        /* a record put back from a checkpoint by a process killed half-way */
        mrpc_remove_stale_temps(cfg->output, started_at, report_stale_temp, NULL);
        if (!resuming) remove(c->stats_path); /* counts of an earlier, unrelated attempt */
    }
    if (s != MRPC_OK) {
        free_ctx(c);
        return s; /* nothing could be recorded: the caller reports it */
    }

    /* Data and model on every rank; the same parameters (and moments) everywhere. */
    c->on_gpu = strcmp(cfg->backend, "cuda") == 0;
    s = load_data(c, err);
    if (s == MRPC_OK && c->on_gpu && c->n_ranks > 1) s = choose_gpu(c, err);
    if (s == MRPC_OK) s = build_model(c, err);
    s = mrpc_dist_agree(dist, s, err);
#if defined(MRPC_HAVE_NCCL)
    if (s == MRPC_OK && c->on_gpu && c->n_ranks > 1) s = mrpc_nccl_create(dist, c->device, &c->nccl, err);
#endif
    if (s == MRPC_OK && resuming && c->rank == 0) s = mrpc_resume_load_slabs(cfg->resume_checkpoint, c->model, err);
    if (s == MRPC_OK) s = mrpc_dist_agree(dist, s, err);
    if (s == MRPC_OK) s = sync_parameters(c, err);
    if (s == MRPC_OK && resuming && c->n_ranks > 1) s = sync_moments(c, err);
    if (s == MRPC_OK && c->n_ranks > 1 && !c->on_gpu) {
        s = sync_init(c, err);
        if (s == MRPC_OK) {
            c->bucketed = 1;
            mrpc_model_set_grad_ready(c->model, on_grads_ready, &c->sync);
        }
    }
    if (s != MRPC_OK && mrpc_dist_broken(dist)) {
        /* A rank was lost while setting up: the cluster's failure, retried like one in the loop. */
        if (c->rank == 0) lost_rank_record(c, err);
        result->outcome = MRPC_TRAIN_INTERRUPTED;
        free_ctx(c);
        return MRPC_OK;
    }
    if (s != MRPC_OK) {
        char buf[1024];
        mrpc_error_format(err, buf, sizeof buf);
        close_record(c, MRPC_RUN_FAILED, buf, 0, NULL);
        free_ctx(c);
        return MRPC_OK; /* result->outcome is FAILED; err says why */
    }
    if (resuming && c->rank == 0 && !opts->quiet) {
        fprintf(stderr, "mrpc-train: %s resumes at step %lld of %lld from %s\n", cfg->run_id,
                (long long)c->progress.steps_done, (long long)c->total_steps, cfg->resume_checkpoint);
    }

    /* The loop. */
    double start = mrpc_seconds_now() - c->progress.train_seconds;
    c->last_checkpoint_time = mrpc_seconds_now();
    double last_print = mrpc_seconds_now();
    int stop = 0, diverged = 0, paused = 0;
    mrpc_status run = MRPC_OK;
    double slowest = 0.0; /* slowest step (with its evaluation and checkpoint) so far */
    mrpc_dist_watch_stop(dist, mrpc_stop_signals_probe, opts->stop, stop_grace(c, slowest));
    while (run == MRPC_OK && !stop && !diverged && c->progress.steps_done < c->total_steps) {
        if (pause_due(c)) { /* after the pause epoch's evaluation (or resumed there) */
            mrpc_dist_watch_stop(dist, NULL, NULL, 0.0); /* rank 0 writes the checkpoint while the others wait */
            run = pause_run(c, &paused, err);
            if (run != MRPC_OK || paused) break;
            /* it could not: train on */
            mrpc_dist_watch_stop(dist, mrpc_stop_signals_probe, opts->stop, stop_grace(c, slowest));
        }
        int64_t epoch = c->progress.steps_done / c->steps_per_epoch;
        int64_t step_in_epoch = c->progress.steps_done % c->steps_per_epoch;
        double t0 = mrpc_seconds_now();
        run = train_step(c, epoch, step_in_epoch, &stop, &diverged, err);
        /* Rank 0 may fail alone (writing the record): everyone learns it here. */
        run = mrpc_dist_agree(dist, run, err);
        c->progress.compute_seconds += mrpc_seconds_now() - t0;
        if (run != MRPC_OK || diverged) break;
        int epoch_done = c->progress.steps_done % c->steps_per_epoch == 0;
        if (epoch_done) {
            double loss = NAN;
            mrpc_metrics m;
            run = evaluate(c, &loss, &m, err);
            if (run != MRPC_OK) break;
            c->last_accuracy = m.accuracy;
            c->last_f1 = m.f1;
            if (isnan(c->progress.best_accuracy) || m.accuracy > c->progress.best_accuracy)
                c->progress.best_accuracy = m.accuracy;
            c->progress.evals_done++;
            mrpc_status rs = MRPC_OK;
            if (c->rank == 0) {
                rs = mrpc_runrec_append_eval(c->record, c->progress.steps_done, epoch + 1, m.accuracy, m.f1, loss,
                                             err);
                if (!opts->quiet) {
                    fprintf(stderr, "mrpc-train: %s epoch %lld/%lld eval accuracy %.4f f1 %.4f loss %.4f\n",
                            cfg->run_id, (long long)epoch + 1, (long long)cfg->num_epochs, m.accuracy, m.f1, loss);
                }
            }
            run = mrpc_dist_agree(dist, rs, err);
            if (run != MRPC_OK) break;
        }
        if (!stop && !pause_due(c)) maybe_checkpoint(c, epoch_done); /* a pause writes its own */
        c->progress.train_seconds = mrpc_seconds_now() - start;
        double now = mrpc_seconds_now();
        if (now - t0 > slowest) {
            slowest = now - t0;
            mrpc_dist_watch_stop(dist, mrpc_stop_signals_probe, opts->stop, stop_grace(c, slowest));
        }
        if (!opts->quiet && c->rank == 0 && (now - last_print >= cfg->progress_seconds || c->progress.steps_done == 1)) {
            double tps = c->progress.compute_seconds > 0 ? (double)c->progress.tokens_done / c->progress.compute_seconds : 0;
            double lr = mrpc_lr_linear_at_update(cfg->learning_rate, c->progress.steps_done, cfg->warmup_steps,
                                                 c->total_steps);
            print_progress(c, epoch, c->last_loss, lr, c->progress.train_seconds, tps);
            last_print = now;
        }
    }
    /* Stopping: rank 0 writes the checkpoint while the others wait for it, as long as it takes. */
    if (stop) mrpc_dist_watch_stop(dist, NULL, NULL, 0.0);
    c->progress.train_seconds = mrpc_seconds_now() - start;
    result->steps_done = c->progress.steps_done;
    result->train_seconds = c->progress.train_seconds;
    result->tokens_per_second =
        c->progress.compute_seconds > 0 ? (double)c->progress.tokens_done / c->progress.compute_seconds : NAN;

    if (run == MRPC_ERR_MPI) {
        /* A rank or the network was lost: the cluster's failure, not this run's. Rank 0 (when
         * it is the survivor) marks the record failed with the reason and /@failure
         * "lost_rank", and keeps the latest checkpoint: the same command, or the study's
         * retry, continues from it. Exit 75 as for a stop. */
        if (c->rank == 0) lost_rank_record(c, err);
        result->outcome = MRPC_TRAIN_INTERRUPTED;
        free_ctx(c);
        return MRPC_OK;
    }
    if (run != MRPC_OK) {
        char buf[1024];
        mrpc_error_format(err, buf, sizeof buf);
        close_record(c, MRPC_RUN_FAILED, buf, 0, NULL);
        result->outcome = MRPC_TRAIN_FAILED;
        remove_checkpoint(c);
        free_ctx(c);
        return MRPC_OK;
    }
    if (paused) {
        result->outcome = MRPC_TRAIN_PAUSED;
        if (c->rank == 0 && !opts->quiet) {
            fprintf(stderr, "mrpc-train: %s paused after epoch %lld of %lld (pause_after_epoch); record %s, resume "
                            "checkpoint %s kept: run it again with pause_after_epoch 0 or larger to continue\n",
                    cfg->run_id, (long long)(c->progress.steps_done / c->steps_per_epoch), (long long)cfg->num_epochs,
                    cfg->output, cfg->resume_checkpoint);
        }
        free_ctx(c);
        return MRPC_OK;
    }
    if (diverged) {
        char reason[128];
        snprintf(reason, sizeof reason, "loss or gradient norm became NaN/inf at step %lld",
                 (long long)c->progress.steps_done + 1);
        close_record(c, MRPC_RUN_DIVERGED, reason, 0, err);
        result->outcome = MRPC_TRAIN_DIVERGED;
        remove_checkpoint(c);
        if (c->rank == 0) {
            fprintf(stderr, "mrpc-train: %s diverged: %s\n", cfg->run_id, reason);
        }
        free_ctx(c);
        return MRPC_OK;
    }
    if (stop && c->progress.steps_done < c->total_steps) {
        s = checkpoint_and_stop(c, err);
        result->outcome = s == MRPC_OK ? MRPC_TRAIN_INTERRUPTED : MRPC_TRAIN_FAILED;
        free_ctx(c);
        return MRPC_OK;
    }

    /* Completed: final weights, predictions, summary, status. */
    mrpc_status fs = MRPC_OK;
    if (c->rank == 0 && cfg->save_checkpoint[0]) fs = mrpc_model_save_hf(c->model, cfg->save_checkpoint, &c->dropouts, err);
    fs = mrpc_dist_agree(dist, fs, err);
    if (fs != MRPC_OK) {
        char buf[1024];
        mrpc_error_format(err, buf, sizeof buf);
        close_record(c, MRPC_RUN_FAILED, buf, 0, NULL);
        result->outcome = MRPC_TRAIN_FAILED;
    } else {
        mrpc_error rec_err = {0};
        close_record(c, MRPC_RUN_COMPLETED, NULL, 1, &rec_err);
        if (rec_err.status != MRPC_OK) {
            *err = rec_err;
            result->outcome = MRPC_TRAIN_FAILED;
        } else {
            result->outcome = MRPC_TRAIN_COMPLETED;
        }
        result->accuracy = c->last_accuracy;
        result->f1 = c->last_f1;
    }
    remove_checkpoint(c);
    if (c->rank == 0 && !opts->quiet && result->outcome == MRPC_TRAIN_COMPLETED) {
        fprintf(stderr, "mrpc-train: %s completed: accuracy %.4f f1 %.4f in %.1f s (%.0f tokens/s); record %s\n",
                cfg->run_id, c->last_accuracy, c->last_f1, c->progress.train_seconds, result->tokens_per_second,
                cfg->output);
        if (c->bucketed) {
            fprintf(stderr, "mrpc-train: %s gradient all-reduce over %d ranks: %.2f s not hidden by the backward "
                            "pass, %.1f%% of the step time\n",
                    cfg->run_id, c->n_ranks, c->sync.seconds,
                    c->progress.compute_seconds > 0 ? 100.0 * c->sync.seconds / c->progress.compute_seconds : 0.0);
        }
    }
    free_ctx(c);
    return MRPC_OK;
}
