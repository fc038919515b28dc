/*
 * stats.c - counters stored in an LMDB "stats" database: key = the counter's
 * name (no NUL), value = u64 big-endian.
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/stats.h"
#include "common/util.h"

/* Longest counter name stats_foreach hands to its callback. */
#define MAX_COUNTER_NAME	255

int stats_write(MDB_txn *txn, MDB_dbi dbi, const struct counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char val[8];
		MDB_val k, v;
		int rc;

		put_be64(val, c[i].value);
		k.mv_data = (void *)(uintptr_t)c[i].name;
		k.mv_size = strlen(c[i].name);
		v.mv_data = val;
		v.mv_size = sizeof(val);
		rc = mdb_put(txn, dbi, &k, &v, 0);
		if (rc != 0) {
			log_err("stats: mdb_put %s: %s", c[i].name,
			    mdb_strerror(rc));
			return TS_EDB;
		}
	}
	return 0;
}

int stats_load(MDB_txn *txn, MDB_dbi dbi, struct counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		MDB_val k, v;
		int rc;

		k.mv_data = (void *)(uintptr_t)c[i].name;
		k.mv_size = strlen(c[i].name);
		rc = mdb_get(txn, dbi, &k, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0) {
			log_err("stats: mdb_get %s: %s", c[i].name,
			    mdb_strerror(rc));
			return TS_EDB;
		}
		if (v.mv_size == 8)
			c[i].value = get_be64(v.mv_data);
	}
	return 0;
}

/* Calls cb for each stored counter in key (name) order; a callback's
 * non-zero return stops the walk and is returned (TS_ESTOP as 0). */
int stats_foreach(MDB_txn *txn, MDB_dbi dbi,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, op = MDB_FIRST, ret = 0;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0) {
		log_err("stats: mdb_cursor_open: %s", mdb_strerror(rc));
		return TS_EDB;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		char name[MAX_COUNTER_NAME + 1];

		op = MDB_NEXT;
		if (v.mv_size != 8 || k.mv_size == 0 ||
		    k.mv_size > MAX_COUNTER_NAME ||
		    memchr(k.mv_data, '\0', k.mv_size) != NULL)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		ret = cb(name, get_be64(v.mv_data), arg);
		if (ret != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_err("stats: mdb_cursor_get: %s", mdb_strerror(rc));
		return TS_EDB;
	}
	return ret == TS_ESTOP ? 0 : ret;
}

int stats_readers_reclaim(MDB_env *env, const char *what, uint64_t *cleared)
{
	int dead = 0, rc;

	if (env == NULL)
		return 0;
	if ((rc = mdb_reader_check(env, &dead)) != 0) {
		log_debug("%s: mdb_reader_check: %s", what, mdb_strerror(rc));
		return TS_EDB;
	}
	if (dead > 0) {
		log_warn("%s: cleared %d reader slot%s left by dead processes",
		    what, dead, dead == 1 ? "" : "s");
		if (cleared != NULL)
			*cleared += (uint64_t)dead;
	}
	return 0;
}
