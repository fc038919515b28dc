/*
 * datadir.h - the top level of the data directory, in one table: each
 * entry's name, whether it is an LMDB environment, and which process owns
 * (writes) it.  Every process and the CLI build these paths here, and
 * tocsind checks the whole table before it starts the children.
 *
 *   DATADIR/run/PROC.pid   pid files (tocsind, collector, engine, outputs)
 *   DATADIR/keys/          CURVE keys (common/keys.h)
 *   DATADIR/journal/       LMDB, the collector's (collector/journal.h)
 *   DATADIR/state/         LMDB, the engine's (engine/state.h)
 *   DATADIR/outputs/       LMDB, the outputs' cursors (outputs/outputs.h)
 *   DATADIR/control/       analysts' requests (common/control.h)
 *   DATADIR/drills/        scorecards kept when the engine did not run
 */
#ifndef TOCSIN_DATADIR_H
#define TOCSIN_DATADIR_H

enum datadir_entry {
	DD_RUN,
	DD_KEYS,
	DD_JOURNAL,
	DD_STATE,
	DD_OUTPUTS,
	DD_CONTROL,
	DD_DRILLS,
	DD_NENTRIES
};

struct datadir_info {
	const char	*dd_name;	/* "journal" */
	int		 dd_lmdb;	/* an LMDB environment */
	int		 dd_checked;	/* tocsind checks it is writable */
	const char	*dd_owner;	/* the process that writes it */
};

/* The table, indexed by enum datadir_entry. */
extern const struct datadir_info datadir_entries[DD_NENTRIES];

/* The entry's name ("journal"); "?" for a bad value.  Static. */
const char *datadir_name(enum datadir_entry e);

/* DATADIR/ENTRY, malloc'd (caller frees); NULL when out of memory. */
char *datadir_path(const char *datadir, enum datadir_entry e);

/* DATADIR/run/PROC.pid, malloc'd (caller frees); NULL when out of
 * memory. */
char *datadir_pidfile(const char *datadir, const char *proc);

#endif /* TOCSIN_DATADIR_H */
