/*
 * Error reporting for profswitch (libgit2 style).
 *
 * Functions return int: 0 on success, one of the negative codes below that
 * callers act on, or PS_ERROR for everything else.  The function that
 * detects a failure sets a one-line message with ps_error_set(); callers
 * pass the code up without overwriting the message.  The message is
 * thread-local so parallel rehearsal workers do not clobber each other.
 */
#ifndef PS_ERROR_H
#define PS_ERROR_H

enum {
	PS_OK = 0,
	PS_ERROR = -1,      /* anything else; see ps_error_last() */
	PS_ENOTFOUND = -3,  /* profile, section, property, file missing */
	PS_EEXISTS = -4,    /* already there */
	PS_ELOCKED = -5,    /* someone else holds the store */
	PS_EFORMAT = -6,    /* malformed input (message has FILE:LINE) */
	PS_ELIMIT = -7,     /* an input exceeds a documented limit */
	PS_EIO = -8,        /* read or write failed */
	PS_ENOMEM = -9      /* allocation failed */
};

#if defined(__MINGW32__)
/* mingw-w64 with __USE_MINGW_ANSI_STDIO: C99 formats (%zu, %jd). */
#define PS_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#elif defined(__GNUC__)
#define PS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PS_PRINTF(a, b)
#endif

/* Set the current thread's message (printf format).  Returns PS_ERROR so
 * that `return ps_error_set(...)` reads naturally. */
int ps_error_set(const char *fmt, ...) PS_PRINTF(1, 2);
/* Same, returning the given code. */
int ps_error_setc(int code, const char *fmt, ...) PS_PRINTF(2, 3);
/* The current thread's message, "" when none. Never NULL. */
const char *ps_error_last(void);
void ps_error_clear(void);

#endif
