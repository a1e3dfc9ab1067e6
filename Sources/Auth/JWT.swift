import Crypto
import JSON
import Support

/// JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, `alg` HS256) — the tokens LiveKit
/// issues and accepts. Verification compares signatures in constant time.
public enum JWT {
    /// `header.claims.signature`, base64url without padding.
    public static func sign(_ claims: JSONValue, secret: String) -> String {
        let header = JSONValue.object([("alg", .string("HS256")), ("typ", .string("JWT"))])
        let signingInput = base64URL(Array(header.text.utf8)) + "." + base64URL(Array(claims.text.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return signingInput + "." + base64URL(Array(mac))
    }

    /// A well-formed HS256 token, read once: its claims (not yet trusted) and what its
    /// signature covers. Works on the token's bytes; a call carries one on every request.
    public struct Unverified {
        public let claims: JSONValue
        /// A member name appears twice in the header, the claims or the grant. RFC 7519 §4: such
        /// a token is refused, so that no other reader of it (most JWT libraries take the last
        /// of two) sees other claims than these.
        public let hasDuplicateMembers: Bool
        private let signingInput: ArraySlice<UInt8>
        private let signature: [UInt8]

        public init(_ token: String) throws(AuthError) {
            let bytes = Array(token.utf8)
            let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
            // base64url without padding (RFC 7515 §2): a "=" makes it another token's text.
            guard dots.count == 2, !bytes.contains(UInt8(ascii: "=")),
                  let header = JWT.json(bytes[..<dots[0]]), let claims = JWT.json(bytes[(dots[0] + 1)..<dots[1]]),
                  let signature = Base64.decode(bytes[(dots[1] + 1)...]) else {
                throw .malformed("not a JWT")
            }
            guard header["alg"] == .string("HS256") else { throw .malformed("the token is not signed with HS256") }
            guard case .object = claims else { throw .malformed("the token's claims are not a JSON object") }
            self.claims = claims
            hasDuplicateMembers = header.hasDuplicateMembers || claims.hasDuplicateMembers
                || (claims["video"]?.hasDuplicateMembers ?? false)
            self.signingInput = bytes[..<dots[1]]
            self.signature = signature
        }

        /// Whether the signature was made with `secret` (compared in constant time).
        public func isSigned(with secret: String) -> Bool {
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput,
                                                   using: SymmetricKey(data: Array(secret.utf8)))
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        String(Base64.encode(bytes).compactMap { c -> Character? in
            switch c {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: c
            }
        })
    }

    private static func json(_ part: ArraySlice<UInt8>) -> JSONValue? {
        guard let bytes = Base64.decode(part) else { return nil }
        return try? JSONParser.parse(bytes)
    }
}
