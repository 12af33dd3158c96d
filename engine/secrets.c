/*
 * secrets.c: new role passwords and connection URIs, written to
 * --secrets-dir and nowhere else (DESIGN.md "Secrets").
 *
 * One file per tenant, DIR/<tenant>.json, mode 0600, replaced whole (a
 * temporary file, fsync, rename), so a reader never sees half of one and
 * a crash leaves the old file or the new one. What the file already holds
 * is kept: a role of the same name and branch gets its new password, other
 * roles and URIs stay, and the new ones are added. The directory is created
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

#include "engine/internal.h"

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

static bool same_role(const json_t *a, const json_t *b)
{
	const char *an = json_string_value(json_object_get(a, "name"));
	const char *bn = json_string_value(json_object_get(b, "name"));
	const char *ab = json_string_value(json_object_get(a, "branch_id"));
	const char *bb = json_string_value(json_object_get(b, "branch_id"));
	return an && bn && strcmp(an, bn) == 0 && (ab == bb || (ab && bb && strcmp(ab, bb) == 0));
}

/* `old` (what the file held) with `now` merged in; a new reference. */
static json_t *merge(const json_t *old, const json_t *now)
{
	json_t *m = json_deep_copy(now);
	if (!json_is_object(old))
		return m;
	json_t *roles = json_object_get(m, "roles");
	json_t *uris = json_object_get(m, "connection_uris");
	size_t i, k;
	json_t *r, *n;
	json_array_foreach(json_object_get(old, "roles"), i, r) {
		bool replaced = false;
		json_array_foreach(roles, k, n) replaced = replaced || same_role(r, n);
		if (!replaced && json_is_array(roles))
			json_array_append(roles, r);
	}
	json_array_foreach(json_object_get(old, "connection_uris"), i, r) {
		bool have = false;
		json_array_foreach(uris, k, n) have = have || json_equal(r, n);
		if (!have && json_is_array(uris))
			json_array_append(uris, r);
	}
	if (!json_object_get(m, "project_id") && json_object_get(old, "project_id"))
		json_object_set(m, "project_id", json_object_get(old, "project_id"));
	return m;
}

int secrets_write(const char *dir, const char *tenant, const json_t *secrets)
{
	if (!spec_tenant_name_valid(tenant))
		return err_set(ERR_INVALID, "'%s' is not a tenant name", tenant);
	int rc = check_dir(dir);
	if (rc != 0)
		return rc;
	char *path = xasprintf("%s/%s.json", dir, tenant);
	json_t *old = json_load_file(path, 0, NULL); /* none yet, or unreadable: start afresh */
	json_t *all = merge(old, secrets);
	char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(old);
	json_decref(all);
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
