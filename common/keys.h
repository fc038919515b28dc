/*
 * keys.h - CURVE keys, enrollment and the registry of admitted agents.
 *
 * Layout under the data directory (the key schema the CLI and the collector
 * share; only files, so that `tocsin agents add` needs no running server and
 * writes nothing into the LMDB environments the daemons own):
 *
 *   DATADIR/keys/server.pub            server public key, Z85, 40 chars + \n
 *   DATADIR/keys/server.key            server secret key, Z85, mode 0600
 *   DATADIR/keys/agents/NAME.pub       an enrolled agent's public key, Z85
 *   DATADIR/keys/groups/NAME           the group of agent NAME ("GROUP\n");
 *                                      absent: KEYS_DEFAULT_GROUP
 *   DATADIR/keys/replay.key            `tocsin replay`'s key pair (line 1
 *                                      public, line 2 secret; mode 0600),
 *                                      enrolled as the agent "replay".  The
 *                                      only key whose HELLO may name a drill.
 *
 * Enrolling writes NAME.pub atomically; revoking removes it.  The collector's
 * keyring notices both on its next lookup (it re-reads the folder when its
 * modification time changes), so a running server needs no restart.
 */
#ifndef TOCSIN_KEYS_H
#define TOCSIN_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* A new CURVE key pair, Z85 (40 chars + NUL each).  0 or TS_EIO. */
int keys_generate(char pub[KEY_Z85_BYTES], char sec[KEY_Z85_BYTES]);

/* Read the server key pair, creating it (secret mode 0600) if absent.  Safe
 * against two processes creating it at once.  sec may be NULL. */
int keys_server_load_or_create(const char *datadir,
    char pub[KEY_Z85_BYTES], char sec[KEY_Z85_BYTES]);

/* Admit an agent's public key.  TS_EEXIST if NAME is enrolled already,
 * TS_EINVAL for a bad name or key. */
int keys_agent_enroll(const char *datadir, const char *name,
    const char pub[KEY_Z85_BYTES]);
/* keys_agent_enroll for a key pair generated just now (`tocsin agents
 * add`): no other agent can hold it, so the enrolled keys are not read
 * (which made enrolling N agents N*N/2 key-file reads); the name is still
 * refused with TS_EEXIST if taken. */
int keys_agent_enroll_generated(const char *datadir, const char *name,
    const char pub[KEY_Z85_BYTES]);

/* Revoke an agent.  TS_ENOTFOUND if it was not enrolled. */
int keys_agent_revoke(const char *datadir, const char *name);

/* The group an agent belongs to when nothing says otherwise. */
#define KEYS_DEFAULT_GROUP	"default"

/* Record agent NAME's group (a name as NAME_AGENT).  0, TS_EINVAL, TS_EIO. */
int keys_agent_group_set(const char *datadir, const char *name,
    const char *group);
/* The group of agent NAME into buf (MAX_NAME_BYTES + 1): its recorded one,
 * or KEYS_DEFAULT_GROUP.  Always a valid name. */
void keys_agent_group_get(const char *datadir, const char *name,
    char buf[MAX_NAME_BYTES + 1]);

/* Call cb for every enrolled agent, in name order. */
int keys_agent_list(const char *datadir,
    int (*cb)(const char *name, const char *pub_z85, void *arg), void *arg);

/* `tocsin replay`'s agent name and key file (under the data directory). */
#define KEYS_REPLAY_AGENT	"replay"
#define KEYS_REPLAY_FILE	"keys/replay.key"

/* The binary public key of DATADIR/KEYS_REPLAY_FILE.  0, TS_ENOTFOUND when
 * there is none, TS_EINVAL when it is not a key file, TS_EIO. */
int keys_replay_pub(const char *datadir, uint8_t pub[32]);

/* The collector's view of the enrolled keys (opaque). */
typedef struct keyring keyring_t;

/* NULL on failure (logged). */
keyring_t *keyring_open(const char *datadir);
void keyring_free(keyring_t **kr);

/* Name of the agent whose 32-byte binary public key this is, or NULL if it is
 * not enrolled.  Re-reads the folder first if it changed.  The returned
 * string is valid until the next keyring call. */
const char *keyring_lookup(keyring_t *kr, const uint8_t pub[32]);

/* 1 if an agent of that name is still enrolled (re-reading if changed). */
int keyring_has_name(keyring_t *kr, const char *name);

#endif /* TOCSIN_KEYS_H */
