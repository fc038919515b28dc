/*
 * drill.h - security drills: scenarios, scoring and stored scorecards.
 *
 * What `tocsin drill` (cli/cmd_drill.c) and the API share: a scenario file
 * (YAML, docs/drills.md) loaded and checked, a drill's alerts and incidents
 * read from the state and scored against the scenario's expectations, the
 * scorecards stored by the control request drill_save (or, when the engine
 * did not run, as DATADIR/drills/NAME.json) listed and read back.  The
 * replay itself (sending the recordings to the collector) stays with the
 * CLI: a drill is run by `tocsin drill run`.
 *
 * Scorecard JSON (what drill_save stores, `drill report --json` prints):
 *   {"drill":"..", "scenario":"..", "description":"..", "file":"..",
 *    "started":"RFC 3339", "finished":"RFC 3339", "speed":N (0: as fast as
 *    possible), "events":{"sent":N,"acknowledged":N},
 *    "first_sent":"RFC 3339", "alerts":N, "incidents":N,
 *    "expectations":[{"type":"alert"|"incident"|"must_not_fire",
 *        "rule":..?, "mitre":..?, "min_count":N, "count":N, "met":bool,
 *        "min_severity":N (incidents), "time_to_detect_ms":N|null,
 *        "max_time_to_detect_ms":N|null, "why":".." (when not met),
 *        "line":N}],
 *    "met":N, "missed":N, "passed":bool}
 *
 * Time to detect: the wall-clock time the engine raised the alert that
 * met the expectation (for min_count: N, the N-th matching alert; for an
 * incident, the moment it first held min_severity and, with rule:, an
 * alert of that rule), minus the wall-clock time the first event was sent.
 */
#ifndef TOCSIN_DRILL_H
#define TOCSIN_DRILL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Recordings of one scenario. */
#define MAX_DRILL_RECORDINGS	32
/* Expectations of one scenario. */
#define MAX_DRILL_EXPECT	256
/* Alerts of one drill kept for scoring. */
#define MAX_DRILL_ALERTS	1000000
/* Scenarios listed from one folder. */
#define MAX_DRILL_SCENARIOS	256
/* Past drills listed. */
#define MAX_DRILLS_LISTED	100000
/* Largest scorecard drill_save stores in the state. */
#define MAX_SCORECARD_BYTES	(512 * 1024)
/* Largest scorecard read back from DATADIR/drills/NAME.json (kept there
 * also when the engine refused it for its size). */
#define MAX_SCORECARD_FILE_BYTES (4 * 1024 * 1024)

enum drill_expect_kind { DRILL_EX_ALERT = 1, DRILL_EX_INCIDENT,
    DRILL_EX_ABSENT };

/* One expectation of a scenario, and its result once scored. */
struct drill_expect {
	enum drill_expect_kind x_kind;
	char		*x_rule;	/* NULL: any */
	char		*x_mitre;	/* NULL: any */
	uint64_t	 x_min_count;
	int		 x_min_severity; /* incidents; -1: any */
	uint64_t	 x_max_ttd_us;	/* 0: no limit */
	int		 x_line, x_col;	/* of the expectation in the file */
	int		 x_rule_line, x_rule_col, x_mitre_line, x_mitre_col;
	/* result (drill_score) */
	uint64_t	 x_count;
	int64_t		 x_ttd_us;	/* -1: none */
	int		 x_ttd_estimated; /* no "detected": observation time */
	int		 x_met;
	char		 x_why[160];
};

/* A loaded scenario (value carrier: large, keep it off the stack). */
struct drill_scenario {
	char		*s_file;
	char		*s_name, *s_description;
	char		*s_recordings[MAX_DRILL_RECORDINGS]; /* paths */
	int		 s_rec_line[MAX_DRILL_RECORDINGS];
	size_t		 s_nrec;
	uint64_t	 s_speed;	/* 0: as fast as possible */
	int		 s_speed_set;
	uint64_t	 s_max_ttd_us;
	struct drill_expect s_ex[MAX_DRILL_EXPECT];
	size_t		 s_nex;
};

/* Load and check a scenario's syntax (known keys, names, durations).  0,
 * or TS_EPARSE/TS_EIO/TS_ENOMEM with "file:line:col: message" in err.
 * Free with drill_scenario_free (also after a failure). */
int drill_scenario_load(const char *path, struct drill_scenario *s,
    char *err, size_t errlen);
void drill_scenario_free(struct drill_scenario *s);

/*
 * The scenarios of folder dir (its *.yml, sorted by file name) as a new
 * JSON array of {"name", "description", "file", "expectations":N,
 * "recordings":N}; a file that does not load is listed with "error" (its
 * message) instead.  0, TS_ENOTFOUND (no such folder), TS_ENOMEM.  The
 * caller owns *out.
 */
int drill_scenarios_list(const char *dir, json_t **out);

/* What the replay did, for the scorecard. */
struct drill_run_info {
	uint64_t	 ri_sent, ri_acked;	/* events */
	uint64_t	 ri_first_sent_us;	/* wall clock */
	uint64_t	 ri_started_us;		/* wall clock */
	uint64_t	 ri_speed;		/* 0: as fast as possible */
	uint64_t	 ri_alert_mark;		/* drill_alert_mark before */
};

/*
 * Score scenario s for drill `drill` from the state under datadir: reads
 * the drill's alerts, incidents and incident log, fills each expectation's
 * result and returns the scorecard (a new object, caller owns; see above)
 * in *out and the number of expectations met in *met.  0 or TS_E*.
 */
int drill_score(const char *datadir, struct drill_scenario *s,
    const char *drill, const struct drill_run_info *ri, json_t **out,
    size_t *met);

/*
 * Count the alerts of drill `drill` with an id above *after, adding them
 * to *count and moving *after to the newest id read: called again and
 * again while a drill runs, it reads each alert once.  *after 0 the first
 * time starts from the newest alert id when the drill began (pass
 * drill_alert_mark's).  0 or TS_E*.
 */
int drill_alerts_progress(const char *datadir, const char *drill,
    uint64_t *after, uint64_t *count);
/* The highest alert id stored now (0: none), for drill_alerts_progress. */
int drill_alert_mark(const char *datadir, uint64_t *id);

/*
 * The past drills: every stored scorecard (the state's, then those kept
 * as files), oldest first by "started", as a new JSON array of {"drill",
 * "scenario", "started", "finished", "passed", "met", "missed", "alerts",
 * "incidents", "stored":"state"|"file"}.  0 or TS_E* (a state that does
 * not exist yet lists as empty).  The caller owns *out.
 */
int drill_list(const char *datadir, json_t **out);

/*
 * The stored scorecard of `name`: a drill's name, or else a scenario's
 * name, meaning its latest run.  *drill (may be NULL) receives the drill's
 * name (malloc'd; caller frees).  0, TS_ENOTFOUND when there is no such
 * drill or scenario run, or TS_E*.  The caller owns *sc.
 */
int drill_scorecard_get(const char *datadir, const char *name, json_t **sc,
    char **drill);

/*
 * A process that keeps the state open (the API) passes its handle here, and
 * the functions above read through it instead of opening the state again:
 * LMDB must not be opened twice in one process (closing the second handle
 * would drop the first one's locks).  NULL: each call opens its own.  The
 * caller keeps s open while these functions may run, and serialises them
 * with its own reads if it must.
 */
struct state;
void drill_use_state(struct state *s);

#endif /* TOCSIN_DRILL_H */
