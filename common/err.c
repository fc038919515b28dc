/*
 * err.c - names of the TS_E* error codes.
 */
#include "common/err.h"

/* Name of an error code; never NULL, static storage. */
const char *ts_strerror(int code)
{
	switch (code) {
	case TS_OK:		return "success";
	case TS_ENOMEM:		return "out of memory";
	case TS_EINVAL:		return "invalid argument or malformed input";
	case TS_EIO:		return "system call failed";
	case TS_ENOTFOUND:	return "not found";
	case TS_EFULL:		return "limit reached";
	case TS_EPARSE:		return "parse error";
	case TS_EEXIST:		return "already exists";
	case TS_EDB:		return "database error";
	case TS_EAGAIN:		return "try again later";
	case TS_ETOOBIG:	return "input too large";
	case TS_ESTOP:		return "stopped early";
	default:		return "unknown error";
	}
}
