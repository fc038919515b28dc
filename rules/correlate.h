/*
 * correlate.h - correlation rules: rules of the rule language whose
 * `correlation:` key makes them fire on a pattern of other rules' matches
 * (a count within a window, distinct values, an ordered sequence) instead
 * of on one line.  docs/incidents.md describes the syntax.
 *
 * ruleset_load (rules/load.c) compiles them with the rest of the rule set,
 * native ones from rule mappings with a `correlation:` key and Sigma ones
 * (rules/sigma/), once every rule they may count is known: a correlation
 * that counts an unknown rule id refuses the set at its file:line:col.
 * The engine evaluates them (engine/correlate.c).
 */
#ifndef TOCSIN_CORRELATE_H
#define TOCSIN_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"

/* Bounds (candidates for limits.h). */
#define MAX_CORR_COUNT		1000	/* count: of a rule or a step */
#define MAX_CORR_STEPS		8	/* steps of a sequence */
#define MAX_CORR_SAME		4	/* fields of same: */
#define MAX_CORR_TIMEFRAME_US	(7ULL * 24 * 3600 * 1000000)

/* threshold: count events; distinct: count values of a field; sequence:
 * the steps in order; all: every step, in any order (Sigma's temporal). */
enum corr_type { CORR_THRESHOLD = 1, CORR_DISTINCT, CORR_SEQUENCE, CORR_ALL };

/* What one step counts: a matched rule whose id is in rules, or any of
 * whose groups is in groups; count of them (sequence steps; 1 default). */
struct corr_step {
	char		**rules;
	size_t		  nrules;
	char		**groups;
	size_t		  ngroups;
	uint32_t	  count;
};

struct corr_rule {
	struct rule_info  info;		/* id, title, level, mitre, groups */
	char		 *id, *title, *description, *author, *file;
	char		**mitre, **groups;
	enum corr_type	  type;
	struct corr_step *steps;	/* threshold/distinct: one */
	size_t		  nsteps;
	uint32_t	  count;	/* threshold: events; distinct: values;
					 * sequence: sum of the steps' counts */
	uint64_t	  timeframe_us;	/* the sliding window */
	uint64_t	  suppress_us;	/* quiet time per group after firing */
	char		**same;		/* group-by fields */
	size_t		  nsame;
	char		 *distinct;	/* distinct: the field counted */
	int		  generate;	/* 0: the rules it counts raise no
					 * alerts of their own (Sigma
					 * generate: false); native: 1 */
};

typedef struct corr_set corr_set_t;

/* The correlation rules of a loaded rule set (ruleset_load compiles them
 * with the rest; the set owns them).  Never NULL for a loaded set. */
const corr_set_t *ruleset_corr(const ruleset_t *rs);

void corr_set_free(corr_set_t **cs);
size_t corr_set_count(const corr_set_t *cs);
/* A number no other set of this process had or will have (1, 2, ...):
 * what a cache of a set's derived facts is keyed by (an address may be
 * reused by the next set). */
uint64_t corr_set_serial(const corr_set_t *cs);
const struct corr_rule *corr_set_rule(const corr_set_t *cs, size_t i);

/* 1 if rule_id is counted by a correlation rule whose base rules raise no
 * alerts of their own (Sigma's generate: false, the default), else 0. */
int corr_set_silences(const corr_set_t *cs, const char *rule_id);

/* Does rule ri count for step st? */
int corr_step_matches(const struct corr_step *st, const struct rule_info *ri);

#endif /* TOCSIN_CORRELATE_H */
