/*
 * listener.h: listening sockets from "host:port", "[v6]:port" or
 * "unix:/path" addresses.
 */
#ifndef ES_LISTENER_H
#define ES_LISTENER_H

#include <stddef.h>

/*
 * Open a non-blocking listening socket for addr. A stale unix socket file
 * is unlinked first and the new one gets mode 0660. Returns the fd, or -1
 * with a message in err.
 */
int es_listener_open(const char *addr, char *err, size_t errlen);

/*
 * Split "host:port" or "[v6]:port" into host and port (pure). Returns 0,
 * or -1 when the form is wrong or a part does not fit.
 */
int es_listener_split(const char *addr, char *host, size_t hostlen,
		      char *port, size_t portlen);

#endif
