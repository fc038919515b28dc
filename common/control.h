/*
 * control.h - requests from the CLI to the engine.
 *
 * The state environment has one writer, the engine.  An analyst's change
 * (acknowledge an incident, add a note, clean a drill) is therefore a
 * request the CLI leaves for the engine, maildir-style:
 *
 *   DATADIR/control/tmp/ID    written and fsynced here first
 *   DATADIR/control/new/ID    then renamed here (atomic): submitted
 *   DATADIR/control/done/ID   the engine's answer (JSON), after the state
 *                             transaction that applied the request commits
 *
 * ID = "<u64 microseconds, 16 hex digits>-<pid>-<counter>", so name order is
 * submission order.  The request is one JSON object with at least
 * {"op": "...", "by": "who", "time": "RFC 3339"}; the answer is
 * {"id": ID, "ok": true|false, "error": "...", ...}.  The engine records
 * the IDs it applied in the state in the same transaction as the change,
 * so a crash between commit and writing done/ never applies one twice.
 * Requests survive an engine that is down: they wait in new/.
 */
#ifndef TOCSIN_CONTROL_H
#define TOCSIN_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_ID_BYTES	64

/* Submit a request (json, len bytes).  Writes its ID into id.  0 or TS_EIO. */
int control_submit(const char *datadir, const char *json, size_t len,
    char id[CONTROL_ID_BYTES]);

/* Wait up to timeout_us for the answer to ID.  0 with *answer (malloc'd,
 * NUL-terminated; caller frees), TS_EAGAIN on time-out (the request stays
 * queued), TS_EIO. */
int control_wait(const char *datadir, const char *id, uint64_t timeout_us,
    char **answer);

/* Engine side: call cb for each submitted request in ID order (at most
 * max, 0 = all).  cb returns 0 when it applied (or refused) the request;
 * the caller then commits and calls control_done for each.  Requests that
 * do not parse are answered with an error by control_take itself. */
int control_take(const char *datadir, size_t max,
    int (*cb)(const char *id, const char *json, size_t len, void *arg),
    void *arg);

/* Engine side: write the answer for ID into done/ and remove new/ID. */
int control_done(const char *datadir, const char *id, const char *answer,
    size_t len);

#endif /* TOCSIN_CONTROL_H */
