import Auth
import GRPCWire
import RPCClient
@testable import Server
import Testing

/// A node's calls to the others carry one token, reused until a minute before it expires: the
/// receiving node's verifier then checks its signature once, not per call.
@Suite struct NodeTokenTests {
    @Test func aNodeReusesItsTokenAndTheClusterSecretVerifiesIt() async throws {
        let secret = "a-cluster-secret-of-at-least-32-characters"
        let credentials = ClusterCredentials(secret: secret)
        let call = MethodTarget(service: "egress.cluster.Node", method: "Call")
        let first = try await credentials.tokens.token(for: call)
        // A token signed a second later differs (its nbf and exp do): the second call gets the first's.
        try await Task.sleep(for: .milliseconds(1100))
        let again = try await credentials.tokens.token(for: MethodTarget(service: "egress.cluster.Relay", method: "Follow"))
        #expect(again == first)
        let verified = try credentials.admit(Metadata([("authorization", "Bearer \(first)")]))
        #expect(verified.apiKey == ClusterCredentials.issuer)
        #expect(verified.expiresAt - (verified.notBefore ?? 0) == 600)
        #expect(throws: RPCError.self) { try ClusterCredentials(secret: String(repeating: "x", count: 40)).admit(Metadata([("authorization", "Bearer \(first)")])) }
    }
}
