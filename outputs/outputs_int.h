/*
 * outputs_int.h - what the outputs process (outputs.c) and its output types
 * (output_*.c) share.  Internal to engine/; tests include it.
 */
#ifndef TOCSIN_OUTPUTS_INT_H
#define TOCSIN_OUTPUTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct output_config;

/* Record kinds: an alert of the state's "alerts" db, or one entry of the
 * incident-change log. */
enum { OUT_KIND_ALERT = 0, OUT_KIND_INCIDENT = 1, OUT_NKINDS };

/* Largest record an output formats (an alert is bounded by the engine; this
 * caps what a syslog line or a POST body may grow to). */
#define OUTPUT_MAX_RECORD_BYTES	(1024 * 1024)
/* Largest UDP syslog datagram sent (longer messages are cut, counted). */
#define OUTPUT_MAX_UDP_BYTES	65000

/*
 * One output type.  open: connect/bind/open the file (0, or TS_EAGAIN /
 * TS_EIO to be retried after a back-off).  send: deliver one record, already
 * filtered and drill-labelled (0 delivered; any error: not delivered, the
 * record is retried later after close + back-off).  flush: end of a batch
 * (fsync); 0 or an error like send.  close: release everything (NULL-safe
 * on impl).  Who frees: close frees *impl and NULLs it.
 */
struct output_ops {
	int	(*open)(const struct output_config *cfg, void **impl);
	int	(*send)(void *impl, const struct output_config *cfg, int kind,
		    json_t *rec);
	int	(*flush)(void *impl);
	void	(*close)(void **impl);
};

extern const struct output_ops output_jsonl_ops;
/* The fsync the JSONL output calls (fsync(2); a unit test makes it fail). */
extern int (*output_jsonl_fsync)(int fd);
extern const struct output_ops output_live_ops;
extern const struct output_ops output_forward_ops;
extern const struct output_ops output_webhook_ops;

/* ---- formatting (output_format.c) -------------------------------------- */

/* Compact JSON text of rec, member order kept, one line (no newline).
 * *out malloc'd (caller frees).  0, TS_ENOMEM or TS_ETOOBIG. */
int output_format_json(json_t *rec, char **out, size_t *len);

/* The CEF text of a record (alert or incident change).  Header fields
 * escape \ and |, extension values \ = and line breaks.  Level 0-15 maps
 * to CEF severity 0-10.  *out malloc'd (caller frees).  0 or TS_ENOMEM. */
int output_format_cef(int kind, json_t *rec, char **out, size_t *len);

/* An RFC 5424 syslog message "<PRI>1 TIME HOST tocsin - KIND - BODY" with
 * BODY the record in the output's format (json or cef), and, when octet
 * is set, the RFC 6587 octet-counting frame "LEN SP" before it.  *out
 * malloc'd (caller frees).  0, TS_ENOMEM or TS_ETOOBIG. */
int output_format_syslog(int kind, json_t *rec, int format, int octet,
    char **out, size_t *len);

/* Level of a record (alert "level", incident "severity"); 0 if none. */
int output_record_level(int kind, json_t *rec);

/* Drill name of a record, NULL if it is not a drill's. */
const char *output_record_drill(json_t *rec);

/* Mark a drill's record for outputs with drills: label: "drill_label":
 * "DRILL <name>" added and "[DRILL <name>] " put before the rule title (or
 * the incident title) so no one mistakes it for a real attack.  0 or
 * TS_ENOMEM. */
int output_label_drill(int kind, json_t *rec);

/* Does output cfg take record rec of kind?  Applies min_level, the drills
 * policy (exclude: no; label: yes, labelled in place by output_label_drill;
 * include: yes, as it is) and, for a webhook, openings and escalations
 * only.  1 or 0 (0 also when labelling ran out of memory). */
int output_wants(const struct output_config *cfg, int kind, json_t *rec);

/* Does the webhook POST this incident change?  Only openings and
 * escalations ("change" of "opened"/"escalated"). */
int output_incident_pages(json_t *rec);

#endif /* TOCSIN_OUTPUTS_INT_H */
