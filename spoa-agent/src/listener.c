/*
 * listener.c: listening sockets; see listener.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"

#define BACKLOG 1024
#define BOUND_MAX 16	/* unix sockets remembered: ES_MAX_LISTEN */
#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/*
 * A port of 1 to 5 digits up to 65535, or -1. getaddrinfo() takes
 * "99999" and binds port 34463, so the range is checked here.
 */
static long
port_number(const char *s)
{
	long n = 0;
	size_t len = strspn(s, "0123456789");

	if (len == 0 || len > 5 || s[len] != '\0' || (s[0] == '0' && len > 1))
		return -1;	/* "080" would be a second spelling of 80 */
	for (size_t i = 0; i < len; i++)
		n = n * 10 + (s[i] - '0');
	return n <= 65535 ? n : -1;
}

int
es_listener_split(const char *addr, char *host, size_t hostlen, char *port,
		  size_t portlen)
{
	const char *colon, *h = addr;
	size_t hl;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || strchr(addr, ':') != colon)
			return -1;	/* bare v6 needs brackets */
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen ||
	    port_number(colon + 1) < 0)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* Only digits and dots: meant as IPv4, so it must be one. */
static int
looks_ipv4(const char *host)
{
	return host[strspn(host, "0123456789.")] == '\0';
}

int
es_listener_check(const char *addr, char *err, size_t errlen)
{
	char host[256], port[16];
	struct in6_addr bin;	/* big enough for either family */

	if (strncmp(addr, "unix:", 5) == 0) {
		size_t len = strlen(addr + 5);

		if (len == 0 || len >= SUN_PATH_MAX) {
			snprintf(err, errlen, "%s: the socket path is empty "
				 "or too long", addr);
			return -1;
		}
		return 0;
	}

	if (es_listener_split(addr, host, sizeof(host), port,
			      sizeof(port)) != 0 || port_number(port) == 0) {
		snprintf(err, errlen, "%s: expected host:port, [v6]:port or "
			 "unix:/path, port 1 to 65535", addr);
		return -1;
	}

	/* fe80::1%eth0: the zone is the resolver's business. */
	if (addr[0] == '[')
		host[strcspn(host, "%")] = '\0';
	if ((addr[0] == '[' && inet_pton(AF_INET6, host, &bin) != 1) ||
	    (addr[0] != '[' && looks_ipv4(host) &&
	     inet_pton(AF_INET, host, &bin) != 1)) {
		snprintf(err, errlen, "%s: not an IP address", addr);
		return -1;
	}

	/* The socket is IPv6-only, so a mapped IPv4 address cannot bind. */
	if (addr[0] == '[' && IN6_IS_ADDR_V4MAPPED(&bin)) {
		snprintf(err, errlen, "%s: an IPv4-mapped address; write the "
			 "IPv4 form", addr);
		return -1;
	}
	return 0;
}

/* The unix socket files we bound, to remove only those at exit. */
static struct {
	char path[SUN_PATH_MAX];
	dev_t dev;
	ino_t ino;
} bound[BOUND_MAX];
static unsigned nbound;

/*
 * Is the socket file at sun left over from a dead process? A connect()
 * that is refused says so (1). One that succeeds, or would block on a
 * full backlog, means a live agent owns it: removing the file would cut
 * that agent off from HAProxy, so we refuse to start (0). Other errors
 * are refused too, saying why (-1).
 */
static int
unix_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	int rc = -1;

	if (fd < 0) {
		snprintf(err, errlen, "unix:%s: %s", sun->sun_path,
			 strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN || errno == EINPROGRESS) {
		snprintf(err, errlen, "unix:%s: address in use (another "
			 "process is listening on it)", sun->sun_path);
		rc = 0;
	} else if (errno == ECONNREFUSED) {
		rc = 1;
	} else {
		snprintf(err, errlen, "unix:%s: cannot tell whether the "
			 "socket is in use: %s", sun->sun_path,
			 strerror(errno));
	}
	close(fd);
	return rc;
}

/* Note the inode of the socket file just bound. */
static int
unix_remember(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	if (nbound == BOUND_MAX)
		return 0;	/* only the removal at exit is lost */
	strcpy(bound[nbound].path, path);
	bound[nbound].dev = st.st_dev;
	bound[nbound].ino = st.st_ino;
	nbound++;
	return 0;
}

void
es_listener_unlink(const char *addr)
{
	const char *path = addr + 5;
	struct stat st;

	if (strncmp(addr, "unix:", 5) != 0 || lstat(path, &st) != 0)
		return;
	for (unsigned i = 0; i < nbound; i++) {
		if (strcmp(bound[i].path, path) == 0 &&
		    bound[i].dev == st.st_dev && bound[i].ino == st.st_ino) {
			(void)unlink(path);
			return;
		}
	}
}

/*
 * bind() a unix socket whose node is created 0660 by the umask, with our
 * effective group (main.c sets the agent user's before binding): a chmod
 * or chown by name afterwards would follow a symbolic link swapped in
 * meanwhile.
 */
static int
bind_0660(int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0117);
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int saved = errno;

	umask(old);
	errno = saved;
	return rc;
}

static int
open_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = -1, ret = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "unix:%s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);

	/* Only a socket is removed: a typo must not delete a real file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix:%s: exists and is not a "
				 "socket", path);
			return -1;
		}
		if (unix_stale(&sun, err, errlen) != 1)
			return -1;
		unlink(path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind_0660(fd, &sun) != 0 || listen(fd, BACKLOG) != 0 ||
	    unix_remember(path) != 0) {
		snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int
open_inet(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL;
	char host[256], port[16];
	int fd = -1, ret = -1, one = 1, rc;

	if (es_listener_split(addr, host, sizeof(host), port,
			      sizeof(port)) != 0) {
		snprintf(err, errlen, "%s: expected host:port, [v6]:port or "
			 "unix:/path", addr);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			sizeof(one)) != 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, BACKLOG) != 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror(errno));
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

int
es_listener_open(const char *addr, char *err, size_t errlen)
{
	if (strncmp(addr, "unix:", 5) == 0)
		return open_unix(addr + 5, err, errlen);
	return open_inet(addr, err, errlen);
}
