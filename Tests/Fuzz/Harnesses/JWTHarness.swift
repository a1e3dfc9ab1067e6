import Auth
import Crypto
import Protobuf
import Support

/// The input as an `authorization` header value, verified as the API verifies it, and read as a
/// bare token. Then once more with its signature replaced by a valid one (HS256 with the key's
/// secret over what precedes its last dot): a fuzzer cannot forge signatures, and without this
/// the claims of a signed token (`exp`, `nbf`, the grants) would be out of its reach.
enum JWTHarness {
    static let secret = "secret"
    static let verifier = TokenVerifier(keys: APIKeys(["devkey": secret]))
    /// 2028-01-01T00:00:00Z: the seeds' tokens are valid then (Tests/Fuzz/make-corpus.py).
    static let now: Int64 = 1_830_297_600

    static func run(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        _ = try? verifier.verify(authorization: text, now: now)
        if let token = try? JWT.Unverified(text) {
            _ = token.isSigned(with: secret)
        }
        guard let lastDot = input.lastIndex(of: UInt8(ascii: ".")) else { return }
        let header = String(decoding: input[..<lastDot], as: UTF8.self)
        // What the verifier signs: the token without the scheme and blanks (invalid UTF-8 repaired).
        var token = header.drop { $0 == " " || $0 == "\t" }
        if token.prefix(7).lowercased() == "bearer " { token = token.dropFirst(7).drop { $0 == " " || $0 == "\t" } }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(token.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        let signature = Base64.encode(Array(mac)).compactMap { c -> Character? in
            switch c {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: c
            }
        }
        _ = try? verifier.verify(authorization: header + "." + String(signature), now: now)
    }
}
