/*
 * listener.h: listening sockets from "host:port", "[v6]:port" or
 * "unix:/path" addresses.
 */
#ifndef ES_LISTENER_H
#define ES_LISTENER_H

#include <stddef.h>

/*
 * Open a non-blocking listening socket for addr. A stale unix socket file
 * (connect() refused) is unlinked first; a live one (connect() accepted)
 * is "address in use". The new socket file gets mode 0660. Returns the fd, or -1
 * with a message in err.
 */
int es_listener_open(const char *addr, char *err, size_t errlen);

/*
 * At exit: remove the socket file of a "unix:/path" address, but only if
 * it is still the very file this process bound (same device and inode),
 * never one another agent has bound since. Other addresses: no-op.
 */
void es_listener_unlink(const char *addr);

/*
 * Check the form of a listen or metrics address without touching the
 * network (pure): a unix path that fits, or host:port / [v6]:port with a
 * port from 1 to 65535, a bracketed host that is an IPv6 address and a
 * dotted host that is an IPv4 one. Names are left to getaddrinfo() at
 * start. Returns 0, or -1 with a message in err.
 */
int es_listener_check(const char *addr, char *err, size_t errlen);

/*
 * Split "host:port" or "[v6]:port" into host and port (pure). Returns 0,
 * or -1 when the form is wrong, a part does not fit or the port is not
 * 0 to 65535 in digits (0: the kernel picks one, for tests).
 */
int es_listener_split(const char *addr, char *host, size_t hostlen,
		      char *port, size_t portlen);

#endif
