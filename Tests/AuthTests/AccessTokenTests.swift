import Foundation
import Testing
@testable import Auth

@Suite struct AccessTokenTests {
    let keys = APIKeys(["APIkey1": "a-secret-that-is-long-enough-to-pass-32", "other": "another-secret-long-enough-for-tests"])
    let now: Int64 = 1_800_000_000

    func token(key: String = "APIkey1", secret: String = "a-secret-that-is-long-enough-to-pass-32", nbf: Int64? = nil,
               ttl: Int64 = 600, grant: AccessToken.VideoGrant = { var g = AccessToken.VideoGrant(); g.roomRecord = true; return g }()) -> String {
        JWT.sign(AccessToken.claims(apiKey: key, identity: "svc", now: nbf ?? now, ttl: ttl, video: grant), secret: secret)
    }

    @Test func aSignedTokenVerifiesWithItsGrant() throws {
        let verified = try TokenVerifier(keys: keys).verify(authorization: "Bearer " + token(), now: now)
        #expect(verified.apiKey == "APIkey1" && verified.identity == "svc" && verified.video.roomRecord && !verified.video.roomAdmin)
    }

    @Test(arguments: ["Bearer ", "bearer ", "BEARER ", "  Bearer \t", ""])
    func theBearerSchemeIsReadInAnyCaseAndSpacing(_ scheme: String) throws {
        let verified = try TokenVerifier(keys: keys).verify(authorization: scheme + token() + " ", now: now)
        #expect(verified.apiKey == "APIkey1")
    }

    @Test func keyEntriesAreTrimmed() throws {
        let parsed = try APIKeys.parse("  one :\t'secret one'  \n\ttwo: secret2 # a comment")
        #expect(parsed.secret(for: "one") == "secret one" && parsed.secret(for: "two") == "secret2" && parsed.keys == ["one", "two"])
    }

    @Test func badTokensAreRefusedSayingWhy() {
        let verifier = TokenVerifier(keys: keys, leeway: 10)
        #expect(throws: AuthError.missing) { try verifier.verify(authorization: nil, now: now) }
        #expect(throws: AuthError.missing) { try verifier.verify(authorization: "Bearer ", now: now) }
        #expect(throws: AuthError.malformed("not a JWT")) { try verifier.verify(authorization: "Bearer abc", now: now) }
        #expect(throws: AuthError.badSignature) { try verifier.verify(token: token(secret: "a-wrong-secret-but-just-as-long-as-it"), now: now) }
        #expect(throws: AuthError.unknownKey("nobody")) { try verifier.verify(token: token(key: "nobody"), now: now) }
        #expect(throws: AuthError.expired) { try verifier.verify(token: token(ttl: 60), now: now + 71) }
        #expect(throws: AuthError.notYetValid) { try verifier.verify(token: token(nbf: now + 11), now: now) }
        // Within the leeway both ways.
        #expect((try? verifier.verify(token: token(ttl: 60), now: now + 69)) != nil)
        #expect((try? verifier.verify(token: token(nbf: now + 9), now: now)) != nil)
    }

    @Test func aTamperedTokenFailsItsSignature() throws {
        var parts = token().split(separator: ".").map(String.init)
        var claims = try JWT.Unverified(token()).claims
        if case .object(var members) = claims {
            members.append(("video", .object([("roomAdmin", .bool(true))])))
            claims = .object(members)
        }
        parts[1] = JWT.base64URL(Array(claims.text.utf8))
        #expect(throws: AuthError.badSignature) { try TokenVerifier(keys: keys).verify(token: parts.joined(separator: "."), now: now) }
    }

    @Test func keysAreReadAsLiveKitTakesThem() throws {
        let parsed = try APIKeys.parse("APIkey1: a-secret-that-is-long-enough-to-pass-32 # main\n\nshort: \"tiny\"\n")
        #expect(parsed.secret(for: "APIkey1") == "a-secret-that-is-long-enough-to-pass-32")
        #expect(parsed.secret(for: "short") == "tiny")
        #expect(parsed.weakKeys == ["short"])
        #expect(try APIKeys.parse("a: b, c: d").keys == ["a", "c"])
        #expect(throws: AuthError.malformed("a key entry has no ':' (\"key: secret\")")) { try APIKeys.parse("no colon here") }
        #expect(throws: AuthError.malformed("no API keys given")) { try APIKeys.parse("   \n") }
    }

    /// Tokens cross with LiveKit's own Python SDK (livekit-api) both ways.
    @Test func tokensCrossWithLiveKitsSDK() throws {
        let secret = "a-secret-that-is-long-enough-to-pass-32"
        let script = """
        import sys
        from livekit import api
        if sys.argv[1] == "make":
            print(api.AccessToken("APIkey1", "\(secret)").with_identity("py").with_grants(
                api.VideoGrants(room_admin=True, room="r1")).to_jwt())
        else:
            claims = api.TokenVerifier("APIkey1", "\(secret)").verify(sys.argv[2])
            print(claims.video.room_record, claims.identity)
        """
        let made = try python(script, ["make"])
        let verified = try TokenVerifier(keys: keys).verify(token: made.trimmingCharacters(in: .whitespacesAndNewlines),
                                                           now: Int64(Date().timeIntervalSince1970))
        #expect(verified.identity == "py" && verified.video.roomAdmin && verified.video.room == "r1" && !verified.video.roomRecord)
        let ours = token(nbf: Int64(Date().timeIntervalSince1970))
        #expect(try python(script, ["verify", ours]).trimmingCharacters(in: .whitespacesAndNewlines) == "True svc")
    }

    private func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python failed: \(output)")
        return output
    }
}
