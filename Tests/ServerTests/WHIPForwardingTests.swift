import Support
@testable import Server
import Testing

/// What the room's node answers a forwarded WHIP offer with goes into this node's headers: only
/// a session id as a hub makes them is taken.
@Suite struct WHIPForwardingTests {
    @Test func onlyASessionIDAsTheHubMakesThemIsTaken() {
        #expect(WHIPEndpoint.isSessionID(RandomID.make(prefix: "WH_")))
        #expect(WHIPEndpoint.isSessionID("WH_abcXYZ-09"))
        for bad in ["", "WH_a\r\nset-cookie: x=1", "WH_a b", "WH_a/../b", "WH_é", String(repeating: "a", count: 65)] {
            #expect(!WHIPEndpoint.isSessionID(bad), "\(bad)")
        }
    }
}
