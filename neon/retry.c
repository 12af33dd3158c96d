/*
 * retry.c: what one finished attempt means, and whether it may be sent
 * again (neon.h; docs/neon-api.md "Errors").
 *
 * Reads are idempotent: any transient failure is retried (transport
 * errors, 5xx, 423 Locked, 429). A write is retried only when the server
 * cannot have acted on it: the connection failed before a byte went out,
 * or the API answered 423, 429 or 503, which Neon documents as "nothing
 * was executed". Every other failure of a write (a 500 or 502 after the
 * request arrived, a timeout or reset once it was sent) is an unknown
 * outcome: the caller must read to find out, never blindly resend, or a
 * POST /projects could make two projects.
 *
 * The table is data-free on purpose: a pure function of a few facts about
 * the attempt, unit-tested case by case in tests/unit/test-neon.c.
 */
#include "neon/internal.h"

bool neon__transport_fatal(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_FAILED_INIT:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_LOGIN_DENIED:
		return true;
	default:
		return false;
	}
}

/* Statuses after which the API guarantees that nothing ran. */
static bool nothing_ran(long status)
{
	return status == 423 || status == 429 || status == 503;
}

neon_verdict neon__classify(bool write, int curl_code, bool sent, long status, bool too_big)
{
	if (too_big)
		return NEON_V_TOO_BIG;
	if (curl_code != 0) {
		if (neon__transport_fatal(curl_code))
			return write && sent ? NEON_V_UNKNOWN : NEON_V_TRANSPORT;
		if (!write || !sent)
			return NEON_V_RETRY;
		return NEON_V_UNKNOWN;
	}
	if (status >= 200 && status < 300)
		return NEON_V_OK;
	if (!write) {
		if (status >= 500 || status == 423 || status == 429)
			return NEON_V_RETRY;
		return NEON_V_HTTP;
	}
	if (nothing_ran(status))
		return NEON_V_RETRY;
	/* a 5xx other than 503 came after the request arrived: it may have run */
	if (status >= 500)
		return NEON_V_UNKNOWN;
	return NEON_V_HTTP;
}

neon_verdict neon__final_verdict(int curl_code)
{
	/* a write only retries a transport error when nothing was sent, so
	 * running out of attempts leaves it known not to have run */
	return curl_code != 0 ? NEON_V_TRANSPORT : NEON_V_HTTP;
}
