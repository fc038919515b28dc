/*
 * outputs.h - the outputs process of tocsind: alerts and incident changes
 * delivered to the places the IR team and the upstream SOC read them.
 *
 * outputs_run() reads the engine's state read-only (alerts in id order,
 * and the incident-change log when the state has one) and delivers each
 * record to every output configured in the `outputs:` section of the server
 * configuration (struct output_config in config.h):
 *
 *   jsonl    appended to a JSON Lines file, rotated by size (keep N)
 *   live     published on a ZeroMQ PUB socket, topics "alert " / "incident "
 *   forward  syslog to an upstream over TCP (RFC 6587 octet counting) or
 *            UDP, in CEF or JSON
 *   webhook  an HTTP POST of JSON per incident opened or escalated
 *
 * The state itself is the durable queue: each output keeps its own cursor
 * (last alert id, last incident-change id delivered) in an LMDB environment
 * DATADIR/outputs that only this process writes:
 *
 *   db "cursors"  key: output name, 0x00, "alert" | "incident"
 *                 val: u64 big-endian id of the last record delivered
 *                 (or deliberately skipped by its filters)
 *   db "stats"    key: counter name  val: u64 (common/stats.h)
 *                 "outputs.<name>.delivered", ".failed", ".retries",
 *                 ".filtered", ".lag" (gauge: records behind), plus
 *                 "outputs.pid", "outputs.started_us", "outputs.heartbeat_us"
 *
 * A cursor advances only after a record was delivered (or filtered out), so
 * an upstream that is down receives everything later, in order; nothing is
 * dropped silently.  Delivery is at least once: a crash between a send and
 * the cursor commit may repeat the last few records of that output.
 */
#ifndef TOCSIN_OUTPUTS_H
#define TOCSIN_OUTPUTS_H

#include <signal.h>
#include <stdint.h>

struct server_config;

/* Run until *stop becomes non-zero.  0 on a clean stop (also when no output
 * is configured: it then only keeps its heartbeat), a negative TS_E* on a
 * start-up failure (logged). */
int outputs_run(const struct server_config *cfg, volatile sig_atomic_t *stop);

/* For `tocsin status`: call cb for every counter stored in the outputs'
 * environment dir (DATADIR/outputs), read-only.  TS_ENOTFOUND when the
 * outputs process has never run there. */
int outputs_stats_foreach(const char *dir,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

#endif /* TOCSIN_OUTPUTS_H */
