/*
 * secrets.c: new role passwords and connection URIs, written to
 * --secrets-dir and nowhere else (DESIGN.md "Secrets").
 *
 * One file per tenant, DIR/<tenant>.json, mode 0600, replaced whole (a
 * temporary file, fsync, rename), so a reader never sees half of one and
 * a crash leaves the old file or the new one. The directory is created
 * 0700 when missing; an existing one must not be readable by others.
 * Format (docs/operations.md, "Secrets"):
 *   {"tenant": "acme", "project_id": "…",
 *    "roles": [{"name": "app", "password": "…", "branch_id": "…"}],
 *    "connection_uris": ["postgresql://…"]}
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

static int check_dir(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0)
			return err_set(ERR_IO, "secrets directory '%s': %s", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(sb.st_mode))
		return err_set(ERR_INVALID, "secrets directory '%s' is not a directory", dir);
	if (sb.st_mode & 0077)
		return err_set(ERR_INVALID, "secrets directory '%s' is open to others (mode %03o); chmod 700 it", dir,
			       (unsigned)(sb.st_mode & 0777));
	return 0;
}

int secrets_check_dir(const char *dir)
{
	return check_dir(dir);
}

int secrets_write(const char *dir, const char *tenant, const json_t *secrets)
{
	if (!spec_tenant_name_valid(tenant))
		return err_set(ERR_INVALID, "'%s' is not a tenant name", tenant);
	int rc = check_dir(dir);
	if (rc != 0)
		return rc;
	char *text = json_dumps(secrets, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *path = xasprintf("%s/%s.json", dir, tenant);
	char *tmp = xasprintf("%s/.%s.json.tmp", dir, tenant);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
		goto done;
	}
	size_t len = text ? strlen(text) : 0, off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err_set(ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
		rc = err_set(ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = err_set(ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = err_set(ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
done:
	if (text) {
		/* the text held passwords */
		memset(text, 0, strlen(text));
		free(text);
	}
	free(path);
	free(tmp);
	return rc;
}
