#include <srtp2/srtp.h>

// libsrtp2's policy setters that are macros, as functions Swift can call.
static inline void egress_srtp_policy_aes_cm_128_hmac_sha1_80(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p); }

// The cipher-type interface, for libsrtp2's documented srtp_replace_cipher_type.
#include <srtp2/cipher.h>
