/* timeutil.h — monotonic seconds for timing and UTC timestamps for records. */
#ifndef MRPC_CORE_TIMEUTIL_H
#define MRPC_CORE_TIMEUTIL_H

#include <stddef.h>

/* Seconds from an arbitrary fixed point (CLOCK_MONOTONIC); only differences mean anything. */
double mrpc_seconds_now(void);

/* Writes the current UTC time as ISO 8601 ("2026-11-26T22:33:35Z") into buf (>= 21 bytes). */
void mrpc_utc_timestamp(char *buf, size_t buf_size);

#endif /* MRPC_CORE_TIMEUTIL_H */
