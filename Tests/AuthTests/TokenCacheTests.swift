import Testing
@testable import Auth

@Suite struct TokenCacheTests {
    let secret = "a-secret-that-is-long-enough-to-pass-32"
    let keys = APIKeys(["APIkey1": "a-secret-that-is-long-enough-to-pass-32"])
    let now: Int64 = 1_800_000_000

    func token(identity: String = "svc", ttl: Int64 = 600) -> String {
        var grant = AccessToken.VideoGrant()
        grant.roomRecord = true
        return JWT.sign(AccessToken.claims(apiKey: "APIkey1", identity: identity, now: now, ttl: ttl, video: grant), secret: secret)
    }

    @Test func aReusedTokenIsRememberedAndStillRefusedOnceExpired() throws {
        let verifier = TokenVerifier(keys: keys, leeway: 10)
        let text = token(ttl: 60)
        #expect(try verifier.verify(token: text, now: now).identity == "svc")
        #expect(verifier.cachedTokens == 1)
        #expect(try verifier.verify(authorization: "Bearer " + text, now: now + 30).identity == "svc")
        #expect(verifier.cachedTokens == 1)
        #expect(throws: AuthError.expired) { try verifier.verify(token: text, now: now + 71) }
        #expect(verifier.cachedTokens == 0)
        #expect(throws: AuthError.expired) { try verifier.verify(token: text, now: now + 72) }
    }

    @Test func onlyTheExactTextOfAVerifiedTokenIsTakenFromTheCache() throws {
        let verifier = TokenVerifier(keys: keys)
        let text = token()
        _ = try verifier.verify(token: text, now: now)
        // The same claims with another signature: verified in full, and refused.
        var forged = Array(text.utf8)
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: AuthError.badSignature) { try verifier.verify(token: String(decoding: forged, as: UTF8.self), now: now) }
        #expect(verifier.cachedTokens == 1)
    }

    @Test func theCacheIsBounded() throws {
        let verifier = TokenVerifier(keys: keys, cacheSize: 8)
        for index in 0..<100 { _ = try verifier.verify(token: token(identity: "svc\(index)"), now: now) }
        #expect(verifier.cachedTokens <= 8 && verifier.cachedTokens > 0)
        #expect(try verifier.verify(token: token(identity: "svc99"), now: now).identity == "svc99")
    }
}
