@testable import Auth
import Crypto
import JSON
import Testing

/// Tokens an attacker would send: claims that do not fit an Int64, that are not numbers, that
/// are missing, and garbage signatures. Each must be refused with UNAUTHENTICATED's reasons,
/// never trap, and never be read before the signature holds.
@Suite struct HostileTokenTests {
    let secret = "a-secret-that-is-long-enough-to-pass-32"
    var verifier: TokenVerifier { TokenVerifier(keys: APIKeys(["APIkey1": secret]), leeway: 10) }
    let now: Int64 = 1_800_000_000

    /// A token with these claims (numbers given as their JSON text), signed with `secret`.
    func signed(_ claims: [(String, JSONValue)], secret: String? = nil) -> String {
        JWT.sign(.object([("iss", .string("APIkey1"))] + claims + [("video", .object([("roomRecord", .bool(true))]))]),
                 secret: secret ?? self.secret)
    }

    /// The same claims with a signature of garbage.
    func unsigned(_ claims: JSONValue) -> String {
        let header = JWT.base64URL(Array(#"{"alg":"HS256"}"#.utf8))
        return header + "." + JWT.base64URL(Array(claims.text.utf8)) + ".AAAA"
    }

    @Test(arguments: ["-1e19", "1e300", "-1e300", "9223372036854775807", "-9223372036854775808", "1e19", "1E400", "-1"])
    func outOfRangeTimesWithAGarbageSignatureAreRefusedBeforeTheyAreRead(_ number: String) {
        for claim in ["nbf", "exp", "iat"] {
            // An unknown key: nothing but iss may be read.
            let stranger = unsigned(.object([("iss", .string("nobody")), (claim, .number(number))]))
            #expect(throws: AuthError.unknownKey("nobody")) { try verifier.verify(token: stranger, now: now) }
            // A known key and a bad signature: the signature is what fails, not the claim.
            let forged = unsigned(.object([("iss", .string("APIkey1")), (claim, .number(number)), ("exp", .number("1800000600"))]))
            #expect(throws: AuthError.badSignature) { try verifier.verify(token: forged, now: now) }
        }
    }

    @Test(arguments: ["9223372036854775807", "1e300", "-1e19", "1e19", "-1", "253402300800"])
    func outOfRangeTimesInASignedTokenAreRefused(_ number: String) {
        for claim in ["exp", "nbf", "iat"] {
            var claims: [(String, JSONValue)] = [("exp", .number("1800000600"))]
            claims.removeAll { $0.0 == claim }
            claims.append((claim, .number(number)))
            #expect(throws: AuthError.malformed("the token's \(claim) claim is not a number of seconds between 1970 and 9999")) {
                try verifier.verify(token: signed(claims), now: now)
            }
        }
    }

    @Test func aTokenWithoutExpIsRefused() {
        #expect(throws: AuthError.malformed("the token has no exp claim")) {
            try verifier.verify(token: signed([("nbf", .number("1799999000"))]), now: now)
        }
    }

    @Test(arguments: [JSONValue.string("1800000600"), .bool(true), .null, .array([.number("1800000600")]), .object([])])
    func timesThatAreNotNumbersAreRefused(_ value: JSONValue) {
        #expect(throws: AuthError.malformed("the token's exp claim is not a number of seconds between 1970 and 9999")) {
            try verifier.verify(token: signed([("exp", value)]), now: now)
        }
        #expect(throws: AuthError.malformed("the token's nbf claim is not a number of seconds between 1970 and 9999")) {
            try verifier.verify(token: signed([("exp", .number("1800000600")), ("nbf", value)]), now: now)
        }
    }

    @Test func theLeewayHoldsAtTheEndsOfTheRange() throws {
        // The largest exp there is: valid, and exp + leeway does not overflow.
        let farFuture = try verifier.verify(token: signed([("exp", .number("253402300799"))]), now: now)
        #expect(farFuture.expiresAt == 253_402_300_799)
        // exp 0 is long expired; a fractional exp is read down to the second.
        #expect(throws: AuthError.expired) { try verifier.verify(token: signed([("exp", .number("0"))]), now: now) }
        let fractional = try verifier.verify(token: signed([("exp", .number("1.8000000105e9"))]), now: now)
        #expect(fractional.expiresAt == 1_800_000_010)
        #expect(throws: AuthError.expired) { try verifier.verify(token: signed([("exp", .number("1.8000000105e9"))]), now: now + 21) }
        // A clock reading outside the range (impossible, but not a trap either).
        #expect(throws: AuthError.expired) { try verifier.verify(token: signed([("exp", .number("1800000600"))]), now: .max) }
    }

    @Test func issMustBeAString() {
        let token = JWT.sign(.object([("iss", .number("1")), ("exp", .number("1800000600"))]), secret: secret)
        #expect(throws: AuthError.malformed("the token has no iss (API key) claim")) { try verifier.verify(token: token, now: now) }
    }

    @Test func grantsOfTheWrongTypeGrantNothing() throws {
        let token = JWT.sign(.object([("iss", .string("APIkey1")), ("exp", .number("1800000600")), ("sub", .number("7")),
                                      ("video", .object([("roomRecord", .string("true")), ("roomAdmin", .number("1")), ("room", .bool(true))]))]),
                             secret: secret)
        let verified = try verifier.verify(token: token, now: now)
        #expect(!verified.video.roomRecord && !verified.video.roomAdmin && verified.video.room == "" && verified.identity == "")
    }

    @Test func aClaimTwiceIsRefused() {
        // Most JWT libraries read the last of two; this reader would read the first.
        let claims = #"{"iss":"APIkey1","exp":1800000600,"exp":1e300,"video":{"roomRecord":true}}"#
        let input = JWT.base64URL(Array(#"{"alg":"HS256"}"#.utf8)) + "." + JWT.base64URL(Array(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        #expect(throws: AuthError.malformed("the token has a claim twice")) {
            try verifier.verify(token: input + "." + JWT.base64URL(Array(mac)), now: now)
        }
        let header = JWT.base64URL(Array(#"{"alg":"HS256","alg":"none"}"#.utf8)) + "." + JWT.base64URL(Array(#"{"iss":"APIkey1","exp":1800000600}"#.utf8))
        let headerMac = HMAC<SHA256>.authenticationCode(for: Array(header.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        #expect(throws: AuthError.malformed("the token has a claim twice")) {
            try verifier.verify(token: header + "." + JWT.base64URL(Array(headerMac)), now: now)
        }
    }

    @Test func paddingAndHiddenCharactersAfterTheSchemeAreRefused() throws {
        let good = signed([("exp", .number("1800000600"))])
        #expect((try? verifier.verify(token: good, now: now)) != nil)
        #expect(throws: AuthError.malformed("not a JWT")) { try verifier.verify(token: good + "==", now: now) }
        // A combining mark after "Bearer " joins the space into one Character: not trimmed away.
        #expect(throws: AuthError.malformed("not a JWT")) { try verifier.verify(authorization: "Bearer \u{301}" + good, now: now) }
        #expect(try verifier.verify(authorization: "Bearer " + good, now: now).apiKey == "APIkey1")
    }
}
