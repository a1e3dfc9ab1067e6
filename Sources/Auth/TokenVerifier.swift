import Support

/// Checks `authorization: Bearer <jwt>` tokens against the server's API keys: the signature
/// with the secret of the token's `iss`, then `exp` and `nbf` with a little leeway.
public struct TokenVerifier: Sendable {
    private let keys: APIKeys
    /// Seconds of clock difference forgiven on `exp` and `nbf`.
    public let leeway: Int64

    public init(keys: APIKeys, leeway: Int64 = 10) {
        self.keys = keys
        self.leeway = leeway
    }

    /// The token in an `authorization` header value (`Bearer <jwt>`, or the bare token).
    public func verify(authorization: String?, now: Int64) throws(AuthError) -> AccessToken {
        guard var token = authorization?.trimmingEnds(), !token.isEmpty else { throw .missing }
        if token.utf8.prefix(7).lazy.map({ $0 | 0x20 }).elementsEqual("bearer ".utf8) { token = token.dropFirst(7).trimmingEnds() }
        // "Bearer" alone: the scheme without a token.
        guard !token.isEmpty, !(token.utf8.count == 6 && token.lowercased() == "bearer") else { throw .missing }
        return try verify(token: token, now: now)
    }

    public func verify(token: String, now: Int64) throws(AuthError) -> AccessToken {
        let unverified = try JWT.Unverified(token)
        let claims = AccessToken(claims: unverified.claims)
        guard let secret = keys.secret(for: claims.apiKey) else { throw .unknownKey(claims.apiKey) }
        guard unverified.isSigned(with: secret) else { throw .badSignature }
        if let exp = claims.expiresAt, now > exp + leeway { throw .expired }
        if let nbf = claims.notBefore, now + leeway < nbf { throw .notYetValid }
        return claims
    }
}
