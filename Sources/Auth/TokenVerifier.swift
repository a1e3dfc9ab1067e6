import Support

/// Checks `authorization: Bearer <jwt>` tokens against the server's API keys.
///
/// Nothing in a token is trusted before its signature holds: only `iss` is read first, as the
/// name of the key whose secret must have signed it. Then the claims are read, each checked
/// (`exp` required, times numeric and in range), and `exp`/`nbf` compared with the clock with a
/// little leeway.
///
/// A token that passed is remembered (by its exact text, up to `cacheSize` of them) until it
/// expires: the next call with it skips the signature and the parsing, not the time checks.
public struct TokenVerifier: Sendable {
    private let keys: APIKeys
    /// Seconds of clock difference forgiven on `exp` and `nbf`.
    public let leeway: Int64
    private let cache: VerifiedTokenCache?

    /// `cacheSize` 0: every token is verified in full every time.
    public init(keys: APIKeys, leeway: Int64 = 10, cacheSize: Int = 1024) {
        self.keys = keys
        self.leeway = max(0, min(leeway, 3600))
        cache = cacheSize > 0 ? VerifiedTokenCache(capacity: cacheSize) : nil
    }

    /// Tokens remembered now.
    public var cachedTokens: Int { cache?.count ?? 0 }

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

    public func verify(token text: String, now: Int64) throws(AuthError) -> AccessToken {
        if let cache, let token = cache.token(for: text) {
            do throws(AuthError) {
                try checkTimes(of: token, now: now)
            } catch {
                cache.remove(text)
                throw error
            }
            return token
        }
        let token = try verifyInFull(text, now: now)
        cache?.insert(token, for: text)
        return token
    }

    private func verifyInFull(_ token: String, now: Int64) throws(AuthError) -> AccessToken {
        let unverified = try JWT.Unverified(token)
        guard case .string(let apiKey)? = unverified.claims["iss"], !apiKey.isEmpty else {
            throw .malformed("the token has no iss (API key) claim")
        }
        guard let secret = keys.secret(for: apiKey) else { throw .unknownKey(apiKey) }
        guard unverified.isSigned(with: secret) else { throw .badSignature }
        guard !unverified.hasDuplicateMembers else { throw .malformed("the token has a claim twice") }
        let token = try AccessToken(verifiedClaims: unverified.claims)
        try checkTimes(of: token, now: now)
        return token
    }

    /// `exp` and `nbf` against the clock.
    private func checkTimes(of token: AccessToken, now: Int64) throws(AuthError) {
        // Both sides are within TokenTime.range (about 8,000 years), so neither sum can overflow.
        guard let now = TokenTime.clamped(now) else { throw .expired }
        if now > token.expiresAt + leeway { throw .expired }
        if let nbf = token.notBefore, now + leeway < nbf { throw .notYetValid }
    }
}
