/*
 * recover.c: bringing back a deleted project (`flotilla recover`): find
 * it in GET /projects?recoverable=true, then POST /projects/{id}/recover.
 *
 * Neon keeps a deleted project recoverable for 7 days; the list with
 * recoverable=true shows only deleted ones, each with deleted_at and
 * recoverable_until. A search by id is a substring search, so the pages
 * are read to their end and only the exact id counts.
 */
#include <string.h>

#include "neon/internal.h"

int neon_project_recoverable(neon_client *c, const char *project_id, neon_project *out)
{
	neon_project_page page;
	char *cursor = NULL;
	int rc = ERR_NOTFOUND;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (!neon__id_valid(project_id))
		return err_set(ERR_INVALID, "GET /projects?recoverable=true: '%s' is not a valid project id",
			       project_id ? project_id : "");
	do {
		rc = neon_projects_page(c, cursor, 400, project_id, true, &page, NULL);
		free(cursor);
		cursor = NULL;
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < page.n && !found; i++) {
			if (strcmp(page.items[i].id, project_id) != 0)
				continue;
			*out = page.items[i];
			memset(&page.items[i], 0, sizeof(page.items[i])); /* moved to out */
			found = true;
		}
		cursor = found ? NULL : page.next;
		page.next = NULL;
		neon_project_page_release(&page);
	} while (cursor);
	if (!found)
		return err_set(ERR_NOTFOUND, "project %s is not in Neon's recoverable list", project_id);
	return 0;
}

int neon_project_recover(neon_client *c, const char *project_id, neon_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!neon__id_valid(project_id))
		return err_set(ERR_INVALID, "POST /projects/{id}/recover: '%s' is not a valid project id",
			       project_id ? project_id : "");
	char *path = xasprintf("/projects/%s/recover", project_id);
	int rc = neon_call(c, "POST", path, NULL, true, res);
	free(path);
	return rc;
}
