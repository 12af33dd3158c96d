/*
 * oapi.h: an OpenAPI 3.0 response-schema checker for tests, on jansson.
 *
 * Tests that talk to flotilla-sim hold every response body against the
 * Neon API document (vendor/neon-api/openapi-v2.json) so the
 * simulator cannot drift from the real API's shapes unnoticed.
 *
 * The checker knows: $ref (local "#/..." pointers, cycle-safe), allOf (all
 * must hold), oneOf and anyOf (at least one must hold; generated documents
 * overlap their alternatives, so "exactly one" would be noise), type with
 * nullable, required, properties, additionalProperties when it is a
 * schema, items, enum, minimum/maximum, minLength/maxLength,
 * minItems/maxItems, pattern (POSIX extended regex) and the formats
 * date-time (RFC 3339) and uuid. Every other keyword is ignored.
 *
 * Rules where OpenAPI 3.0 is loose, fixed here:
 * - nullable: true accepts null for the whole schema, even when allOf or
 *   enum beside it would reject null (the document's intent, e.g.
 *   Project.effective_project_permission).
 * - Keywords beside a $ref are ignored, as OpenAPI 3.0 says.
 * - "integer" takes JSON integers only: 5.0 is reported.
 */
#ifndef FLOTILLA_TESTS_OAPI_H
#define FLOTILLA_TESTS_OAPI_H

#include <jansson.h>

#include "util/util.h"

typedef struct oapi oapi;

/* Where the document is: $FLOTILLA_OPENAPI when set and not empty, else
 * OAPI_DEFAULT_PATH (relative to the source root). Borrowed string. */
#define OAPI_DEFAULT_PATH "vendor/neon-api/openapi-v2.json"
const char *oapi_default_path(void);

/*
 * Load an OpenAPI 3.x JSON document. *out is NULL on entry and set only on
 * success; free with oapi_free. ERR_IO when the file cannot be read,
 * ERR_INVALID when it is not JSON or not OpenAPI 3.
 */
int oapi_load(oapi **out, const char *path) WUR;
/* oapi_load(out, oapi_default_path()); when that relative default is not
 * found from the working directory, "../" + it is tried too (tests run in
 * tests/). */
int oapi_load_default(oapi **out) WUR;
void oapi_free(oapi *o);

/*
 * The JSON schema of a response, borrowed from the document (valid until
 * oapi_free). `method` is any case ("get", "POST"). `path` is a template as
 * the document spells it ("/projects/{project_id}/branches") or a concrete
 * request path ("/api/v2/projects/p-1/branches?limit=5": the "/api/v2"
 * prefix and the query are dropped, literal segments win over {params}).
 * Status lookup: the exact code, then "4XX"-style ranges, then "default"
 * for statuses >= 400 (the GeneralError of every Neon operation).
 * NULL with ERR_NOTFOUND in the last error when there is no such path,
 * method or status, or the response has no JSON body (e.g. 204).
 */
const json_t *oapi_response_schema(oapi *o, const char *method, const char *path,
	int status);

/* The schema components/schemas/`name` ("Project"), borrowed; NULL with
 * ERR_NOTFOUND when absent. */
const json_t *oapi_component(oapi *o, const char *name);

/*
 * Check `value` against `schema` (borrowed from this document, so that its
 * $refs resolve). Each problem is appended to `errors` (may be NULL) as one
 * line "JSON-PATH: message\n", e.g.
 *     $.project.pg_version: expected integer, got string
 *     $.branches[0]: missing required property 'name'
 * All problems are reported, not the first. Lines that do not fit under
 * errors->max are dropped but still counted. Returns the number of
 * problems: 0 means valid. A NULL schema is one problem.
 */
int oapi_check(oapi *o, const json_t *schema, const json_t *value, buf *errors) WUR;

#endif
