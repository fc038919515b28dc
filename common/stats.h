/*
 * stats.h - named counters that `tocsin status` shows.
 *
 * Each daemon keeps its counters in a static table and writes them into the
 * "stats" database of the LMDB environment it owns (journal: collector,
 * state: engine), in the same transaction as the work they count, or at
 * least once a second when only refusals happened.  Key: the counter's
 * name; value: u64 big-endian.  The CLI reads them with a read-only
 * transaction.  A counter named "*.pid" or "*_us" is a gauge, not a count.
 */
#ifndef TOCSIN_STATS_H
#define TOCSIN_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

struct counter {
	const char	*name;		/* "collector.frames_refused_malformed" */
	uint64_t	 value;
	const char	*help;		/* one line for `tocsin status` */
};

/* Write every counter of the table into dbi within txn.  0 or TS_EDB. */
int stats_write(MDB_txn *txn, MDB_dbi dbi, const struct counter *c, size_t n);

/* Load the values stored in dbi back into a table (counters survive a
 * restart); names not in the table are ignored.  0 or TS_EDB. */
int stats_load(MDB_txn *txn, MDB_dbi dbi, struct counter *c, size_t n);

/* Call cb for every stored counter, in name order.  0 or TS_EDB. */
int stats_foreach(MDB_txn *txn, MDB_dbi dbi,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

/*
 * Clear the reader slots of processes that died inside a read transaction
 * (a CLI killed mid-read): each one holds a slot of the environment's
 * reader table, which has room for only 126, and pins the pages it was
 * reading so the file cannot reuse them.  Every process calls this when it
 * opens an environment and the daemons on every statistics tick.  Adds the
 * number of slots cleared to *cleared (may be NULL); logs them at warning
 * level under `what`.  0, or TS_EDB when LMDB cannot check.
 */
int stats_readers_reclaim(MDB_env *env, const char *what, uint64_t *cleared);

#endif /* TOCSIN_STATS_H */
