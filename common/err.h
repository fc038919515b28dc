/*
 * err.h - error codes shared by every tocsin module.
 *
 * Functions return 0 on success or one of these negative codes; results go
 * out through out-parameters.  ts_strerror() names a code for a log line.
 */
#ifndef TOCSIN_ERR_H
#define TOCSIN_ERR_H

enum {
	TS_OK		= 0,
	TS_ENOMEM	= -1,	/* out of memory */
	TS_EINVAL	= -2,	/* bad argument or malformed input */
	TS_EIO		= -3,	/* system call failed; errno says why */
	TS_ENOTFOUND	= -4,	/* no such key, file or entity */
	TS_EFULL	= -5,	/* a bound was reached (map full, spool full) */
	TS_EPARSE	= -6,	/* input did not parse; the diagnostic says where */
	TS_EEXIST	= -7,	/* already exists */
	TS_EDB		= -8,	/* LMDB failed; the log line says which call */
	TS_EAGAIN	= -9,	/* try again later (no credit, not ready) */
	TS_ETOOBIG	= -10,	/* input larger than its limit */
	TS_ESTOP	= -11,	/* a callback asked to stop early; not an error */
};

/* Name of an error code; never NULL, static storage. */
const char *ts_strerror(int code);

#endif /* TOCSIN_ERR_H */
