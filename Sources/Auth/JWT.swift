import Crypto
import Protobuf

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

    /// The claims of a well-formed HS256 token, before its signature is checked (to find the key).
    public static func unverifiedClaims(_ token: String) throws(AuthError) -> JSONValue {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = json(parts[0]), let claims = json(parts[1]) else {
            throw .malformed("not a JWT")
        }
        guard header["alg"] == .string("HS256") else { throw .malformed("the token is not signed with HS256") }
        guard case .object = claims else { throw .malformed("the token's claims are not a JSON object") }
        return claims
    }

    /// Whether `token` carries a valid signature made with `secret`.
    public static func hasValidSignature(_ token: String, secret: String) -> Bool {
        guard let dot = token.lastIndex(of: "."),
              let signature = Base64.decode(String(token[token.index(after: dot)...])) else { return false }
        let signingInput = Array(token[..<dot].utf8)
        return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput,
                                                       using: SymmetricKey(data: Array(secret.utf8)))
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

    private static func json(_ part: Substring) -> JSONValue? {
        guard let bytes = Base64.decode(String(part)) else { return nil }
        return try? JSONParser.parse(bytes)
    }
}
