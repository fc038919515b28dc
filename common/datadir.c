/*
 * datadir.c - the top level of the data directory (see datadir.h).
 */
#include <stddef.h>

#include "common/datadir.h"
#include "common/util.h"

const struct datadir_info datadir_entries[DD_NENTRIES] = {
	[DD_RUN]	= { "run",	0, 1, "tocsind" },
	[DD_KEYS]	= { "keys",	0, 1, "tocsind" },
	[DD_JOURNAL]	= { "journal",	1, 1, "collector" },
	[DD_STATE]	= { "state",	1, 1, "engine" },
	[DD_OUTPUTS]	= { "outputs",	1, 1, "outputs" },
	[DD_CONTROL]	= { "control",	0, 1, "engine" },
	[DD_DRILLS]	= { "drills",	0, 0, "tocsin" },
};

const char *datadir_name(enum datadir_entry e)
{
	return (unsigned)e < DD_NENTRIES ? datadir_entries[e].dd_name : "?";
}

char *datadir_path(const char *datadir, enum datadir_entry e)
{
	return xasprintf("%s/%s", datadir, datadir_name(e));
}

char *datadir_pidfile(const char *datadir, const char *proc)
{
	return xasprintf("%s/%s/%s.pid", datadir, datadir_name(DD_RUN), proc);
}
