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
 * Split "host:port" or "[v6]:port" into host and port (pure). Returns 0,
 * or -1 when the form is wrong or a part does not fit.
 */
int es_listener_split(const char *addr, char *host, size_t hostlen,
		      char *port, size_t portlen);

#endif
