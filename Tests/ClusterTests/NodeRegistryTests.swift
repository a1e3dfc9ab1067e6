import Foundation
import Redis
import RedisTestServer
import Synchronization
import Placement
import Testing
@testable import Cluster

/// The registry on a real redis-server: nodes register and beat; a silent one is found, taken
/// by exactly one node's lease, removed, and its late heartbeat is told it was declared lost.
@Suite(.serialized) struct NodeRegistryTests {
    func node(_ id: String, at time: Int64, used: Double = 0) -> NodeRecord {
        NodeRecord(id: id, apiAddress: "127.0.0.1:7880", mediaAddress: "127.0.0.1:7882", cpuCapacity: 2, cpuUsed: used,
                   startedAt: 1_000, heartbeatAt: time)
    }

    @Test func nodesRegisterBeatAndAreListedWithTheirLoad() throws {
        let server = try RedisServer()
        let registry = NodeRegistry(redis: RedisClient(endpoint: server.endpoint))
        try registry.register(node("ND_a", at: 1_000))
        try registry.register(node("ND_b", at: 1_000))
        #expect(throws: RedisError.replied("node id ND_a is already registered")) { try registry.register(node("ND_a", at: 1_500)) }
        #expect(try registry.heartbeat(node("ND_a", at: 2_000, used: 1.25)) == .alive)
        let listed = try registry.nodes().sorted { $0.id < $1.id }
        #expect(listed == [node("ND_a", at: 2_000, used: 1.25), node("ND_b", at: 1_000)])
    }

    @Test func aSilentNodeIsFoundRemovedAndItsLateHeartbeatIsRefused() throws {
        let server = try RedisServer()
        let registry = NodeRegistry(redis: RedisClient(endpoint: server.endpoint))
        try registry.register(node("ND_a", at: 1_000))
        try registry.register(node("ND_b", at: 1_000))
        #expect(try registry.heartbeat(node("ND_a", at: 10_500)) == .alive)
        // At 11,000 ms with 10 s to be lost: b (last seen at 1,000) is silent, a is not.
        #expect(try registry.silentNodes(now: 11_000, lostAfter: 10_000) == [])
        #expect(try registry.silentNodes(now: 11_001, lostAfter: 10_000) == ["ND_b"])
        try registry.remove("ND_b")
        #expect(try registry.nodes().map(\.id) == ["ND_a"])
        #expect(try registry.heartbeat(node("ND_b", at: 11_500)) == .declaredLost)
        #expect(try registry.nodes().map(\.id) == ["ND_a"])  // not resurrected
        #expect(try registry.silentNodes(now: 100_000, lostAfter: 10_000) == ["ND_a"])
    }

    @Test func exactlyOneOfManyClaimersTakesALeaseAndItExpiresByItself() async throws {
        let server = try RedisServer()
        let endpoint = server.endpoint
        let winners = await withTaskGroup(of: String?.self) { group in
            for claimer in 0..<8 {
                group.addTask {
                    // Each claimer its own connection, as each node has.
                    let registry = NodeRegistry(redis: RedisClient(endpoint: endpoint))
                    let taken = try? registry.claimLease("lost:ND_x", holder: "ND_\(claimer)", for: .seconds(30))
                    return taken == true ? "ND_\(claimer)" : nil
                }
            }
            return await group.reduce(into: [String]()) { if let winner = $1 { $0.append(winner) } }
        }
        let winner = try #require(winners.first)
        #expect(winners.count == 1)
        let registry = NodeRegistry(redis: RedisClient(endpoint: server.endpoint))
        // Someone else cannot give it back; the holder can.
        try registry.releaseLease("lost:ND_x", holder: "ND_other")
        #expect(try registry.claimLease("lost:ND_x", holder: "ND_late", for: .seconds(5)) == false)
        try registry.releaseLease("lost:ND_x", holder: winner)
        #expect(try registry.claimLease("lost:ND_x", holder: "ND_late", for: .milliseconds(200)) == true)
        // Not given back: it expires.
        try await Task.sleep(for: .milliseconds(400))
        #expect(try registry.claimLease("lost:ND_x", holder: "ND_later", for: .seconds(5)) == true)
    }
}
