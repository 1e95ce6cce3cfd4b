/*
 * rank_hosts.h — which hosts the ranks of a run are on, for its record (/@hosts).
 */
#ifndef MRPC_TRAIN_RANK_HOSTS_H
#define MRPC_TRAIN_RANK_HOSTS_H

#include <stddef.h>

#include "dist.h"
#include "status.h"

/*
 * Collective: every rank passes its host name (gethostname, cut to 63 bytes); every rank
 * gets the distinct names in the order of their first rank, comma-separated ("node1,node2"),
 * in out (cut at out_size, ending with "..." when the list does not fit). One all-reduce
 * of 64 bytes per rank, once per start.
 */
mrpc_status mrpc_rank_hosts(mrpc_dist *dist, char *out, size_t out_size, mrpc_error *err);

#endif /* MRPC_TRAIN_RANK_HOSTS_H */
