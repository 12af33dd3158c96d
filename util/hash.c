/*
 * hash.c: SHA-256 as lowercase hex, the content hash flotilla stores to
 * tell whether a manifest or a remote object changed. It wraps OpenSSL's
 * EVP interface rather than carrying its own implementation: a hash that
 * ends up compared across versions must never be subtly wrong. The EVP
 * calls only fail when memory or the provider is missing, neither of which
 * a caller could handle, so like xmalloc they abort.
 */
#include "util/util.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sha256_ctx {
	EVP_MD_CTX *md;
};

static void crypto_fail(const char *what) __attribute__((noreturn));
static void crypto_fail(const char *what)
{
	fprintf(stderr, "flotilla: sha256: %s failed\n", what);
	abort();
}

/* A new running hash; sha256_final_hex consumes it. */
sha256_ctx *sha256_new(void)
{
	sha256_ctx *c = xmalloc(sizeof(*c));

	c->md = EVP_MD_CTX_new();
	if (!c->md)
		crypto_fail("EVP_MD_CTX_new");
	if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		crypto_fail("EVP_DigestInit_ex");
	return c;
}

void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
	if (n == 0)
		return;
	if (EVP_DigestUpdate(c->md, data, n) != 1)
		crypto_fail("EVP_DigestUpdate");
}

void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (EVP_DigestFinal_ex(c->md, md, &len) != 1 || len != SHA256_LEN)
		crypto_fail("EVP_DigestFinal_ex");
	for (i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
	EVP_MD_CTX_free(c->md);
	free(c);
}

void sha256_hex(const void *data, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	sha256_ctx *c = sha256_new();

	sha256_update(c, data, n);
	sha256_final_hex(c, hex);
}

/* OpenSSL's one-shot HMAC: the key is the caller's (a webhook secret), so
 * nothing here copies it beyond what OpenSSL does internally. */
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, unsigned char out[SHA256_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (keylen > INT_MAX)
		crypto_fail("HMAC (key longer than INT_MAX)");
	if (!HMAC(EVP_sha256(), key ? key : "", (int)keylen, data ? data : (const void *)"", n, md, &len) ||
	    len != SHA256_LEN)
		crypto_fail("HMAC");
	memcpy(out, md, SHA256_LEN);
}
