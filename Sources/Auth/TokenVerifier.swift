import Support

/// Checks `authorization: Bearer <jwt>` tokens against the server's API keys.
///
/// Nothing in a token is trusted before its signature holds: only `iss` is read first, as the
/// name of the key whose secret must have signed it. Then the claims are read, each checked
/// (`exp` required, times numeric and in range), and `exp`/`nbf` compared with the clock with a
/// little leeway.
public struct TokenVerifier: Sendable {
    private let keys: APIKeys
    /// Seconds of clock difference forgiven on `exp` and `nbf`.
    public let leeway: Int64

    public init(keys: APIKeys, leeway: Int64 = 10) {
        self.keys = keys
        self.leeway = max(0, min(leeway, 3600))
    }

    /// The token in an `authorization` header value (`Bearer <jwt>`, or the bare token).
    public func verify(authorization: String?, now: Int64) throws(AuthError) -> AccessToken {
        guard var token = authorization?.trimmingEnds(), !token.isEmpty else { throw .missing }
        // Bytes, not Characters: a combining mark after the space would join it.
        if token.utf8.prefix(7).lazy.map({ $0 | 0x20 }).elementsEqual("bearer ".utf8) {
            token = String(decoding: token.utf8.dropFirst(7), as: UTF8.self).trimmingEnds()
        }
        // "Bearer" alone: the scheme without a token.
        guard !token.isEmpty, !(token.utf8.count == 6 && token.lowercased() == "bearer") else { throw .missing }
        return try verify(token: token, now: now)
    }

    public func verify(token: String, now: Int64) throws(AuthError) -> AccessToken {
        let unverified = try JWT.Unverified(token)
        guard case .string(let apiKey)? = unverified.claims["iss"], !apiKey.isEmpty else {
            throw .malformed("the token has no iss (API key) claim")
        }
        guard let secret = keys.secret(for: apiKey) else { throw .unknownKey(apiKey) }
        guard unverified.isSigned(with: secret) else { throw .badSignature }
        guard !unverified.hasDuplicateMembers else { throw .malformed("the token has a claim twice") }
        let token = try AccessToken(verifiedClaims: unverified.claims)
        // Both sides are within TokenTime.range (about 8,000 years), so neither sum can overflow.
        guard let now = TokenTime.clamped(now) else { throw .expired }
        if now > token.expiresAt + leeway { throw .expired }
        if let nbf = token.notBefore, now + leeway < nbf { throw .notYetValid }
        return token
    }
}
