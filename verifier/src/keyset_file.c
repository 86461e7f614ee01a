/*
 * keyset_file.c: key set files: read one only when its owner alone can
 * read it, and add a fresh key by atomic replacement.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "internal.h"

#define KEYSET_FILE_MAX (1024 * 1024)
#define GENERATED_KID_SIZE 13	/* 12 base64url characters and NUL */

/*
 * NULL when st describes a file fit to hold secrets, else why not. A key
 * set is used only by its owner; root may edit one it does not own
 * (keygen for the agent's user, keep_owner() below), never load it.
 */
static const char *
file_secrecy(const struct stat *st, int root_edit)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if ((st->st_mode & 077) != 0)
		return "readable or writable by group or others (chmod 600)";
	if (st->st_uid != geteuid() && !(root_edit && geteuid() == 0))
		return "owned by another user";
	if (st->st_size > KEYSET_FILE_MAX)
		return "larger than 1 MiB";
	return NULL;
}

/* Read all of fd (size bytes expected) into a new buffer; NULL with errno
 * on error. A file that shrank meanwhile gives what was there. */
static char *
read_all(int fd, size_t size, size_t *len)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	ssize_t n;

	if (buf == NULL)
		return NULL;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			OPENSSL_cleanse(buf, got);
			free(buf);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	buf[got] = '\0';
	return buf;
}

/*
 * Read the key set file at path after checking its type, mode and owner on
 * the open descriptor (no window between check and read). Returns a buffer
 * the caller wipes and frees, or NULL with "path: reason" in err and
 * *transient set when the system could not read it (descriptors, memory,
 * I/O) rather than the file being unfit or missing: the same file may
 * load on the next try. root_edit: root may read a set it does not own,
 * to add a key to it.
 */
static char *
read_secret_file(const char *path, int root_edit, size_t *len,
		 int *transient, char *err, size_t errlen)
{
	const char *why;
	struct stat st;
	char *buf = NULL;
	int fd;

	*transient = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		/* Out of descriptors or memory: try again. A missing or
		 * forbidden file waits for its next change instead of
		 * failing (and being logged) on every call. */
		*transient = errno == EMFILE || errno == ENFILE ||
			     errno == ENOMEM || errno == EINTR;
		edgeseal__set_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}

	if (fstat(fd, &st) != 0) {
		why = strerror(errno);
		*transient = 1;
	} else {
		why = file_secrecy(&st, root_edit);
	}
	if (why == NULL) {
		buf = read_all(fd, (size_t)st.st_size, len);
		if (buf == NULL) {
			why = errno == ENOMEM ? "out of memory" :
				strerror(errno);
			*transient = 1;
		}
	}
	if (why != NULL)
		edgeseal__set_err(err, errlen, "%s: %s", path, why);
	close(fd);
	return buf;
}

struct edgeseal_keyset *
edgeseal__keyset_load(const char *path, int *transient, char *err,
		      size_t errlen)
{
	struct edgeseal_keyset *ks = NULL;
	char why[256];
	size_t len = 0;
	char *text;

	if (path == NULL) {
		*transient = 0;
		edgeseal__set_err(err, errlen, "no key set path");
		return NULL;
	}
	text = read_secret_file(path, 0, &len, transient, err, errlen);
	if (text == NULL)
		return NULL;

	ks = edgeseal_keyset_parse(text, len, why, sizeof(why));
	if (ks == NULL)
		edgeseal__set_err(err, errlen, "%s: %s", path, why);
	OPENSSL_cleanse(text, len);
	free(text);
	return ks;
}

struct edgeseal_keyset *
edgeseal_keyset_load(const char *path, char *err, size_t errlen)
{
	int transient;

	return edgeseal__keyset_load(path, &transient, err, errlen);
}

/* A new JWK with 32 random bytes under kid; NULL on failure. */
static json_t *
new_jwk(const char *kid)
{
	uint8_t secret[ES_KEY_MIN];
	char k[ES_KEY_MIN * 2];
	json_t *jwk = NULL;

	if (RAND_bytes(secret, sizeof(secret)) == 1) {
		edgeseal__b64url_encode(secret, sizeof(secret), k);
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "oct",
				"kid", kid, "alg", "HS256", "k", k);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(k, sizeof(k));
	return jwk;
}

/* A random kid: 72 bits in base64url, so two keygens never collide. */
static int
random_kid(char out[GENERATED_KID_SIZE])
{
	uint8_t raw[9];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	edgeseal__b64url_encode(raw, sizeof(raw), out);
	return 0;
}

/*
 * 1 when every folder above path (absolute, from realpath) is root's and
 * writable by nobody else. Only then may root edit a set another user
 * owns: the new file is made, chowned and renamed by name, and a user who
 * could swap a folder meanwhile would get a file of theirs planted in a
 * folder of root's choosing.
 */
static int
root_controls_folders(const char *path)
{
	char folder[PATH_MAX];
	struct stat st;
	char *slash;

	if (geteuid() != 0 || path[0] != '/' || strlen(path) >= PATH_MAX)
		return 0;
	memcpy(folder, path, strlen(path) + 1);
	while ((slash = strrchr(folder, '/')) != NULL) {
		slash[slash == folder] = '\0';	/* keep "/" itself */
		if (lstat(folder, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != 0 || (st.st_mode & 022) != 0)
			return 0;
		if (slash == folder)
			return 1;
	}
	return 0;
}

/*
 * The current set at path as JSON, or a new empty set when the file does
 * not exist. NULL with "path: reason" in err otherwise.
 */
static json_t *
current_jwks(const char *path, char *err, size_t errlen)
{
	struct edgeseal_keyset *ks = NULL;
	json_t *root = NULL;
	char why[256];
	size_t len = 0;
	int transient;
	char *text;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return json_pack("{s:[]}", "keys");

	/* The old set must pass every file and content rule of a load. */
	text = read_secret_file(path, root_controls_folders(path), &len,
				&transient, err, errlen);
	if (text == NULL)
		return NULL;
	ks = edgeseal_keyset_parse(text, len, why, sizeof(why));
	if (ks == NULL)
		edgeseal__set_err(err, errlen, "%s: %s", path, why);
	else
		root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

	edgeseal_keyset_free(ks);
	OPENSSL_cleanse(text, len);
	free(text);
	return root;
}

/* Write all n bytes to fd; -1 on any error. */
static int
write_all(int fd, const char *buf, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		w = write(fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* Make a finished rename durable: fsync the folder that holds path. */
static void
sync_parent(const char *path)
{
	char *copy = strdup(path);
	int dfd = -1;

	if (copy != NULL)
		dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
}

/*
 * The new file takes the old one's owner: a set owned by the agent's user
 * must stay readable by it after root adds a key. Only root may give a
 * file away; anyone else already owns what they create.
 */
static int
keep_owner(int fd, const char *path)
{
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) != 0)
		return 0;
	return fchown(fd, st.st_uid, st.st_gid);
}

/*
 * Write text and a newline to a new 0600 file beside path, fsync it and
 * rename it over path. Returns 0, or -1 with errno set and path untouched.
 */
static int
replace_file(const char *path, const char *text)
{
	int fd = -1, rc = -1, saved;
	char *tmp = NULL;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0600) != 0 || keep_owner(fd, path) != 0 ||
	    write_all(fd, text, strlen(text)) != 0 ||
	    write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	sync_parent(path);
	rc = 0;
out:
	saved = errno;	/* the cause, for the caller's message */
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	errno = saved;
	return rc;
}

/* Check the new set text as a loader would, then write it to path. */
static enum edgeseal_reason
store_jwks(const char *path, const char *text, char *err, size_t errlen)
{
	struct edgeseal_keyset *ks;
	char why[256];

	ks = edgeseal_keyset_parse(text, strlen(text), why, sizeof(why));
	if (ks == NULL) {
		edgeseal__set_err(err, errlen, "%s: %s", path, why);
		return EDGESEAL_NO_KEY;
	}
	edgeseal_keyset_free(ks);

	if (replace_file(path, text) != 0) {
		edgeseal__set_err(err, errlen, "%s: %s", path, strerror(errno));
		return EDGESEAL_NO_KEY;
	}
	return EDGESEAL_OK;
}

/*
 * The file a key set path names: a symbolic link's final target, so that
 * the file others read gets the key rather than the link being replaced
 * by a private copy. A path that does not exist yet is itself.
 */
static int
keyset_target(const char *path, char target[PATH_MAX], char *err,
	      size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT) {
		errno = ENAMETOOLONG;
		if (strlen(path) >= PATH_MAX)
			goto fail;
		memcpy(target, path, strlen(path) + 1);
		return 0;
	}
	if (realpath(path, target) != NULL)
		return 0;
fail:
	edgeseal__set_err(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/*
 * An exclusive lock on "<target>.lock", held across the read-modify-write:
 * concurrent key additions would each write the set they read, losing the
 * others' keys. The target itself cannot carry the lock (it is replaced).
 * Returns the descriptor holding the lock, or -1.
 */
static int
lock_keyset(const char *target, char *err, size_t errlen)
{
	char *name = NULL;
	int fd = -1;

	if (asprintf(&name, "%s.lock", target) < 0) {
		name = NULL;
		goto out;
	}
	fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
		  O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
out:
	if (fd < 0)
		edgeseal__set_err(err, errlen, "%s: %s", name ? name : target,
				  strerror(errno));
	free(name);
	return fd;
}

/* Read the set at path, append a new key, replace the file. */
static enum edgeseal_reason
add_key_locked(const char *path, const char *kid, char *kid_out,
	       size_t kid_out_len, char *err, size_t errlen)
{
	enum edgeseal_reason rc = EDGESEAL_INTERNAL_ERROR;
	json_t *root = NULL, *jwk = NULL;
	char generated[GENERATED_KID_SIZE];
	char *text = NULL;

	root = current_jwks(path, err, errlen);
	if (root == NULL) {
		rc = EDGESEAL_NO_KEY;
		goto out;
	}
	if (kid == NULL && random_kid(generated) != 0)
		goto out;
	if (kid == NULL)
		kid = generated;

	jwk = new_jwk(kid);
	if (jwk == NULL || json_array_append(json_object_get(root, "keys"),
					     jwk) != 0)
		goto out;
	text = json_dumps(root, JSON_INDENT(2));
	if (text == NULL)
		goto out;

	rc = store_jwks(path, text, err, errlen);
	if (rc == EDGESEAL_OK && kid_out != NULL)
		snprintf(kid_out, kid_out_len, "%s", kid);
out:
	if (rc == EDGESEAL_INTERNAL_ERROR)
		edgeseal__set_err(err, errlen, "%s: cannot create a key", path);
	if (text != NULL)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (jwk != NULL)
		edgeseal__jwks_wipe(jwk);
	json_decref(jwk);
	if (root != NULL)
		edgeseal__jwks_wipe(root);
	json_decref(root);
	return rc;
}

enum edgeseal_reason
edgeseal_keyset_add_key(const char *path, const char *kid, char *kid_out,
			size_t kid_out_len, char *err, size_t errlen)
{
	char target[PATH_MAX];
	enum edgeseal_reason rc;
	int lock;

	if (kid != NULL && !edgeseal__kid_ok(kid, strlen(kid))) {
		edgeseal__set_err(err, errlen, "kid must be 1-128 printable "
				  "ASCII characters without space, '\"' or "
				  "'\\'");
		return EDGESEAL_NO_KEY;
	}

	/* Checked first: a success must not hand back a cut kid. */
	if (path == NULL || (kid_out != NULL &&
	    kid_out_len < (kid != NULL ? strlen(kid) + 1 :
				    GENERATED_KID_SIZE))) {
		edgeseal__set_err(err, errlen, "%s", path == NULL ?
				  "no key set path" : "kid_out too small");
		return EDGESEAL_INTERNAL_ERROR;
	}
	if (keyset_target(path, target, err, errlen) != 0)
		return EDGESEAL_NO_KEY;
	lock = lock_keyset(target, err, errlen);
	if (lock < 0)
		return EDGESEAL_NO_KEY;

	rc = add_key_locked(target, kid, kid_out, kid_out_len, err, errlen);

	close(lock);	/* releases the lock */
	return rc;
}
