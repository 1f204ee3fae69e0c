#ifndef ALVEO_COPENSSL_SHIM_H
#define ALVEO_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

// Macros Swift cannot call.
static inline long alveo_ssl_set_sni(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline int alveo_ssl_ctx_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
static inline void alveo_openssl_free(void *pointer) { OPENSSL_free(pointer); }
static inline int alveo_ssl_has_peer_certificate(const SSL *ssl) {
    X509 *certificate = SSL_get1_peer_certificate(ssl);
    if (certificate == NULL) return 0;
    X509_free(certificate);
    return 1;
}
#endif
