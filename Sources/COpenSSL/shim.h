#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bio.h>

// OpenSSL's function-like macros, as functions Swift can call.
static inline long egress_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long egress_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long egress_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long egress_BIO_set_mem_eof_return(BIO *bio, long value) { return BIO_set_mem_eof_return(bio, value); }
static inline long egress_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, long version) { return SSL_CTX_set_min_proto_version(ctx, version); }
static inline long egress_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, long version) { return SSL_CTX_set_max_proto_version(ctx, version); }
static inline long egress_SSL_CTX_set_options(SSL_CTX *ctx, long options) { return SSL_CTX_set_options(ctx, options); }
static inline long egress_SSL_CTX_set_read_ahead(SSL_CTX *ctx, long value) { return SSL_CTX_set_read_ahead(ctx, value); }
static inline long egress_SSL_OP_NO_QUERY_MTU(void) { return SSL_OP_NO_QUERY_MTU; }
static inline long egress_DTLS1_2_VERSION(void) { return DTLS1_2_VERSION; }

/// A P-256 key pair for the DTLS certificate (EVP_EC_gen is a variadic macro).
static inline EVP_PKEY *egress_generate_p256_key(void) { return EVP_EC_gen("P-256"); }
