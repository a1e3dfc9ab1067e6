import COpenSSL
import CSRTP

/// AES-128-GCM for libsrtp2 on OpenSSL's EVP interface, installed in place of libsrtp2's own
/// with its documented `srtp_replace_cipher_type`.
///
/// Debian builds libsrtp2 on NSS, whose one-shot `PK11_Decrypt` makes a context, several
/// allocations and a hash-table lookup for every packet; this keeps one EVP context per SRTP
/// session key and only re-keys the IV per packet. libsrtp2 still does all of SRTP (key
/// derivation, the IV from salt and index, the AAD, replay protection): this is the AEAD of one
/// packet and nothing more. libsrtp2 runs the known-answer test below (made with an independent
/// implementation, Python's `cryptography`) and its random round trips before it takes the cipher.
enum OpenSSLGCMCipher {
    /// Whether libsrtp2 took the cipher (its self-test passed); libsrtp2's own stays otherwise.
    static func install() -> Bool {
        srtp_replace_cipher_type(cipherType, srtp_cipher_type_id_t(SRTP_AES_GCM_128)) == srtp_err_status_ok
    }

    /// The key with its salt, as libsrtp2 hands it to `alloc` (the cipher uses the key; libsrtp2 the salt).
    private static let keyWithSaltLength: Int32 = 16 + 12
    private static let ivLength: Int32 = 12

    /// One cipher's state: its EVP context, the tag length and the direction `set_iv` chose.
    private final class State {
        let context: OpaquePointer
        let tagLength: Int32
        var encrypting = false

        init?(tagLength: Int32) {
            guard let context = EVP_CIPHER_CTX_new() else { return nil }
            self.context = context
            self.tagLength = tagLength
        }

        deinit { EVP_CIPHER_CTX_free(context) }

        static func from(_ pointer: UnsafeMutableRawPointer?) -> State? {
            pointer.map { Unmanaged<State>.fromOpaque($0).takeUnretainedValue() }
        }
    }

    private static let alloc: srtp_cipher_alloc_func_t = { cipher, keyLength, tagLength in
        guard let cipher, keyLength == OpenSSLGCMCipher.keyWithSaltLength, tagLength == 16 || tagLength == 8,
              let state = State(tagLength: tagLength) else { return srtp_err_status_bad_param }
        let made = UnsafeMutablePointer<srtp_cipher_t>.allocate(capacity: 1)
        made.initialize(to: srtp_cipher_t(type: OpenSSLGCMCipher.cipherType, state: Unmanaged.passRetained(state).toOpaque(),
                                           key_len: keyLength, algorithm: SRTP_AES_GCM_128))
        cipher.pointee = made
        return srtp_err_status_ok
    }

    private static let dealloc: srtp_cipher_dealloc_func_t = { cipher in
        guard let cipher else { return srtp_err_status_dealloc_fail }
        if let state = cipher.pointee.state { Unmanaged<State>.fromOpaque(state).release() }
        cipher.deinitialize(count: 1)
        cipher.deallocate()
        return srtp_err_status_ok
    }

    private static let initialize: srtp_cipher_init_func_t = { state, key in
        guard let state = State.from(state), let key, EVP_CIPHER_CTX_reset(state.context) == 1,
              EVP_CipherInit_ex(state.context, EVP_aes_128_gcm(), nil, key, nil, 0) == 1,
              EVP_CIPHER_CTX_ctrl(state.context, EVP_CTRL_GCM_SET_IVLEN, OpenSSLGCMCipher.ivLength, nil) == 1
        else { return srtp_err_status_init_fail }
        return srtp_err_status_ok
    }

    private static let setIV: srtp_cipher_set_iv_func_t = { state, iv, direction in
        guard let state = State.from(state), let iv,
              direction == srtp_direction_encrypt || direction == srtp_direction_decrypt else { return srtp_err_status_bad_param }
        state.encrypting = direction == srtp_direction_encrypt
        guard EVP_CipherInit_ex(state.context, nil, nil, nil, iv, state.encrypting ? 1 : 0) == 1 else { return srtp_err_status_init_fail }
        return srtp_err_status_ok
    }

    private static let setAAD: srtp_cipher_set_aad_func_t = { state, aad, length in
        guard let state = State.from(state), length <= Int32.max else { return srtp_err_status_bad_param }
        guard length > 0 else { return srtp_err_status_ok }
        var written: Int32 = 0
        guard let aad, EVP_CipherUpdate(state.context, nil, &written, aad, Int32(length)) == 1 else { return srtp_err_status_algo_fail }
        return srtp_err_status_ok
    }

    /// Encrypts in place; the tag comes from `getTag`. libsrtp2 passes no buffer and a length of
    /// 0 for an SRTCP packet that is authenticated only.
    private static let encrypt: srtp_cipher_encrypt_func_t = { state, buffer, length in
        guard let state = State.from(state), state.encrypting, let length, length.pointee <= Int32.max else { return srtp_err_status_bad_param }
        guard length.pointee > 0 else { return srtp_err_status_ok }
        var written: Int32 = 0
        guard let buffer, EVP_CipherUpdate(state.context, buffer, &written, buffer, Int32(length.pointee)) == 1,
              written == Int32(length.pointee) else { return srtp_err_status_algo_fail }
        return srtp_err_status_ok
    }

    /// Decrypts in place the ciphertext followed by its tag; `length` becomes the plaintext's.
    /// A tag that does not match is `srtp_err_status_auth_fail`.
    private static let decrypt: srtp_cipher_encrypt_func_t = { state, buffer, length in
        guard let state = State.from(state), !state.encrypting, let buffer, let length,
              length.pointee <= Int32.max, Int32(length.pointee) >= state.tagLength else { return srtp_err_status_bad_param }
        let cipherLength = Int32(length.pointee) - state.tagLength
        guard EVP_CIPHER_CTX_ctrl(state.context, EVP_CTRL_GCM_SET_TAG, state.tagLength, buffer + Int(cipherLength)) == 1 else {
            return srtp_err_status_auth_fail
        }
        var written: Int32 = 0
        if cipherLength > 0 {
            guard EVP_CipherUpdate(state.context, buffer, &written, buffer, cipherLength) == 1, written == cipherLength else {
                return srtp_err_status_auth_fail
            }
        }
        var final: Int32 = 0
        guard EVP_CipherFinal_ex(state.context, buffer + Int(cipherLength), &final) == 1 else { return srtp_err_status_auth_fail }
        length.pointee = UInt32(cipherLength)
        return srtp_err_status_ok
    }

    private static let getTag: srtp_cipher_get_tag_func_t = { state, tag, length in
        guard let state = State.from(state), state.encrypting, let tag, let length else { return srtp_err_status_bad_param }
        var final: Int32 = 0
        guard EVP_CipherFinal_ex(state.context, tag, &final) == 1,
              EVP_CIPHER_CTX_ctrl(state.context, EVP_CTRL_GCM_GET_TAG, state.tagLength, tag) == 1 else { return srtp_err_status_algo_fail }
        length.pointee = UInt32(state.tagLength)
        return srtp_err_status_ok
    }

    /// The cipher type libsrtp2 keeps a pointer to for the life of the process.
    nonisolated(unsafe) private static let cipherType: UnsafeMutablePointer<srtp_cipher_type_t> = {
        let type = UnsafeMutablePointer<srtp_cipher_type_t>.allocate(capacity: 1)
        type.initialize(to: srtp_cipher_type_t(
            alloc: alloc, dealloc: dealloc, init: initialize, set_aad: setAAD, encrypt: encrypt, decrypt: decrypt,
            set_iv: setIV, get_tag: getTag,
            description: UnsafeRawPointer(description.utf8Start).assumingMemoryBound(to: CChar.self), test_data: knownAnswer, id: srtp_cipher_type_id_t(SRTP_AES_GCM_128)))
        return type
    }()

    private static let description: StaticString = "AES-128-GCM on OpenSSL EVP"

    /// 60 bytes with 19 bytes of AAD and a 16-byte tag; ciphertext from Python's `cryptography`.
    nonisolated(unsafe) private static let knownAnswer: UnsafeMutablePointer<srtp_cipher_test_case_t> = {
        func constant(_ bytes: [UInt8]) -> UnsafeMutablePointer<UInt8> {
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
            pointer.initialize(from: bytes, count: bytes.count)
            return pointer
        }
        let key: [UInt8] = Array(0x10...0x1f) + Array(0xa0...0xab)
        let iv: [UInt8] = [0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88]
        let aad: [UInt8] = [0x80, 0x60, 0xab, 0xcd, 0x00, 0x00, 0xa0, 0xb1, 0xde, 0xca, 0xfb, 0xad, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]
        let plaintext: [UInt8] = (0..<60).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let ciphertext: [UInt8] = [
            0x12, 0xfc, 0x53, 0xe9, 0x07, 0xc0, 0xe6, 0xe8, 0x8d, 0xe2, 0x9f, 0x45, 0xf4, 0x99, 0xa1, 0xf8, 0x1e, 0xd2, 0xac, 0xa3,
            0xed, 0x09, 0x3c, 0x20, 0xde, 0xd8, 0x51, 0xd9, 0xc0, 0x0f, 0x71, 0x7d, 0x5f, 0xb3, 0xb8, 0xa2, 0x0e, 0xa8, 0x67, 0x12,
            0xb5, 0x07, 0x9b, 0xd1, 0xbe, 0xca, 0x30, 0x37, 0x54, 0x11, 0x7e, 0x46, 0x71, 0x1b, 0x55, 0x35, 0x1e, 0x79, 0x17, 0x2c,
            0x67, 0xd7, 0x93, 0x74, 0xad, 0x6a, 0x87, 0x1a, 0x81, 0x23, 0x92, 0x13, 0x70, 0xdf, 0x7b, 0xdd]
        let test = UnsafeMutablePointer<srtp_cipher_test_case_t>.allocate(capacity: 1)
        test.initialize(to: srtp_cipher_test_case_t(
            key_length_octets: keyWithSaltLength, key: constant(key), idx: constant(iv),
            plaintext_length_octets: UInt32(plaintext.count), plaintext: constant(plaintext),
            ciphertext_length_octets: UInt32(ciphertext.count), ciphertext: constant(ciphertext),
            aad_length_octets: Int32(aad.count), aad: constant(aad), tag_length_octets: 16, next_test_case: nil))
        return test
    }()
}
