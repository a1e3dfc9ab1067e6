import Logging
import RecordStore
import Redis
import RedisTestServer
import Synchronization
import Placement
import Testing
@testable import Cluster
@testable import SessionManager

/// A backend that keeps its reporters: the test reports for it.
final class HeldBackend: EgressBackend {
    let reporters = Mutex<[String: EgressReporter]>([:])
    func start(_ egress: EgressRecord, reporter: EgressReporter) async { reporters.withLock { $0[egress.id] = reporter } }
    func stop(_ egressID: String) async {}
    func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {}

    /// The egress's reporter, once the store has started it (in a task of its own).
    func reporter(_ id: String) async throws -> EgressReporter {
        for _ in 0..<500 {
            if let reporter = reporters.withLock({ $0[id] }) { return reporter }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw CancellationError()
    }
}

/// Takes every change handed on (what the webhooks would send).
final class ChangeLog: EgressObserver {
    let changes = Mutex<[EgressChange]>([])
    func observes(_ record: EgressRecord) -> Bool { true }
    func notify(_ change: EgressChange, done: @escaping @Sendable () -> Void) {
        changes.withLock { $0.append(change) }
        done()
    }
    func ended(_ id: String) -> [EgressChange] { changes.withLock { $0.filter { $0.record.id == id && $0.kind == .ended } } }
}

/// Nodes on one real redis-server, their rounds driven by hand with their clocks: a node that
/// stops beating is declared lost after `lostAfter`, its live egresses end FAILED once (one
/// `egress_ended`, from the one node that took the lease), and when it comes back its heartbeat
/// is refused and its late changes do not bring its egresses back.
@Suite(.serialized) struct ClusterMemberTests {
    struct Node {
        let member: ClusterMember
        let egresses: EgressStore
        let backend: HeldBackend
        let changes: ChangeLog
    }

    func node(_ id: String, on server: RedisServer, roomsInUse: @escaping @Sendable () async -> Set<String> = { [] }) throws -> Node {
        let backend = HeldBackend(), changes = ChangeLog()
        let records = try RedisRecordStore(redis: RedisClient(endpoint: server.endpoint, timeout: .milliseconds(300)), node: id)
        let egresses = EgressStore(backend: backend, logger: Logger(label: id), observer: changes, recordStore: records)
        let member = ClusterMember(registry: NodeRegistry(redis: RedisClient(endpoint: server.endpoint, timeout: .milliseconds(300))),
                                   records: records, egresses: egresses,
                                   configuration: .init(lostAfter: .seconds(10)), logger: Logger(label: id), roomsInUse: roomsInUse) {
            NodeRecord(id: id, apiAddress: "127.0.0.1:1", mediaAddress: "127.0.0.1:2", cpuCapacity: 2, startedAt: 0, heartbeatAt: 0)
        }
        return Node(member: member, egresses: egresses, backend: backend, changes: changes)
    }

    let spec = EgressSpec(roomName: "lobby", source: .participant(identity: "alice", screenShare: false), encoding: .transcode(.default),
                          outputs: Outputs(files: [FileOutput(fileType: nil, path: "", disableManifest: false)]))

    @Test func aLostNodesEgressesEndFailedOnceAndItsReturnResurrectsNothing() async throws {
        let server = try RedisServer()
        let a = try node("ND_a", on: server), b = try node("ND_b", on: server), c = try node("ND_c", on: server)
        for node in [a, b, c] { try await node.member.join(now: 1_000) }
        _ = try a.member.rooms.place("lobby", on: "ND_a", now: 1_000)
        let running = try await a.egresses.start(spec, request: .init(kind: .participant, encoded: []))
        let ended = try await a.egresses.start(spec, request: .init(kind: .participant, encoded: []))
        _ = try await a.egresses.stop(ended.id)
        try await a.backend.reporter(ended.id).report(.finalized(EgressResults()))
        await a.egresses.flush()

        // b and c beat on; a is silent. Within lost_after nothing happens.
        #expect(try await b.member.round(now: 11_000).cleanedUp.isEmpty)
        #expect(try await c.member.round(now: 11_000).cleanedUp.isEmpty)
        // Past it, both look; one takes the lease and ends a's live egress, the other finds it taken.
        async let byB = b.member.round(now: 11_001)
        async let byC = c.member.round(now: 11_002)
        let rounds = try await [byB, byC]
        #expect(rounds.map { $0.cleanedUp["ND_a"] ?? [] }.flatMap { $0 } == [running.id])
        let cleaner = rounds[0].cleanedUp["ND_a"] == nil ? c : b
        let endings = cleaner.changes.ended(running.id)
        #expect(endings.count == 1)
        #expect(endings.first?.record.status == .failed && endings.first?.record.error == "egress node lost")
        #expect(b.changes.ended(running.id).count + c.changes.ended(running.id).count == 1)
        // The cleaner lists it; Redis holds it as FAILED, taken over by the cleaner; a's other
        // egress, ended before, is left as it was.
        #expect(cleaner.egresses.record(running.id)?.status == .failed)
        let readAs = { (node: String) in try RedisRecordStore(redis: RedisClient(endpoint: server.endpoint), node: node).load().records }
        #expect(try readAs(cleaner.member.node).first { $0.id == running.id }?.status == .failed)
        #expect(try readAs("ND_a").map(\.id) == [ended.id])
        #expect(try readAs("ND_a").first?.status == .aborted)
        #expect(try RedisClient(endpoint: server.endpoint).command(["HGET", "egress:egress:{\(running.id)}", "node"]).text == cleaner.member.node)
        #expect(try await NodeRegistry(redis: RedisClient(endpoint: server.endpoint)).nodes().map(\.id).sorted() == ["ND_b", "ND_c"])
        #expect(try a.member.rooms.node(of: "lobby") == nil)  // its room is free to be placed again

        // a, with its stale view, reports on before it learns: the record is not its own any more,
        // Redis drops the write. Then its heartbeat is refused and it writes nothing more at all.
        try await a.backend.reporter(running.id).report(.mediaStarted(at: 1))
        await a.egresses.flush()
        #expect(try readAs(cleaner.member.node).first { $0.id == running.id }?.status == .failed)
        #expect(try await a.member.round(now: 12_000).heartbeat == .declaredLost)
        try await a.backend.reporter(running.id).report(.failed(error: "late", code: 500, details: "", results: EgressResults()))
        await a.egresses.flush()
        #expect(try readAs(cleaner.member.node).first { $0.id == running.id }?.error == "egress node lost")
        #expect(a.changes.ended(running.id).isEmpty)  // no second egress_ended from a
        // A later round of the survivors finds nothing more to do.
        #expect(try await b.member.round(now: 20_000).cleanedUp.isEmpty)
    }

    /// After Redis was unreachable every node's last heartbeat is old: a node judges the others
    /// only once its own heartbeats have gone through for lost_after again.
    @Test func afterAnOutageNobodyIsJudgedUntilTheJudgeHasBeatenForLostAfter() async throws {
        let server = try RedisServer()
        let b = try node("ND_b", on: server), c = try node("ND_c", on: server)
        for node in [b, c] { try await node.member.join(now: 1_000) }
        try RedisClient(endpoint: server.endpoint).command(["CLIENT", "PAUSE", "2000"])
        await #expect(throws: (any Error).self) { try await b.member.round(now: 2_000) }
        try await Task.sleep(for: .milliseconds(2100))
        // Redis is back at 20,000: c's last heartbeat (1,000) is old, but b has only just beaten again.
        #expect(try await b.member.round(now: 20_000).cleanedUp.isEmpty)
        #expect(try await c.member.round(now: 20_500).heartbeat == .alive)
        #expect(try await b.member.round(now: 30_000).cleanedUp.isEmpty)
        #expect(try await NodeRegistry(redis: RedisClient(endpoint: server.endpoint)).nodes().count == 2)
    }

    /// A node frees the rooms placed on it that its hub no longer has and no egress records, once
    /// they are older than the grace a placing call needs to arrive.
    @Test func aNodeFreesTheRoomsItNoLongerUses() async throws {
        let server = try RedisServer()
        let a = try node("ND_a", on: server, roomsInUse: { ["used"] })
        try await a.member.join(now: 100_000)
        for (room, placed) in [("used", Int64(1_000)), ("unused", 1_000), ("fresh", 99_000)] {
            _ = try a.member.rooms.place(room, on: "ND_a", now: placed)
        }
        #expect(try await a.member.round(now: 100_000).freedRooms == ["unused"])
        #expect(try a.member.rooms.rooms(of: "ND_a").sorted() == ["fresh", "used"])
        try await a.member.leave()
        #expect(try a.member.rooms.node(of: "used") == nil && a.member.rooms.node(of: "fresh") == nil)
    }

    /// A room being joined on this node is not freed by the sweep (it is not in the hub yet), and
    /// a join while its room is being freed is refused at once, not let into a room about to go.
    @Test func aRoomBeingJoinedIsNotFreedAndAJoinWhileItIsFreedIsRefused() async throws {
        let server = try RedisServer()
        let joined = Mutex(false)
        let a = try node("ND_a", on: server, roomsInUse: { joined.withLock { $0 } ? ["joining"] : [] })
        try await a.member.join(now: 100_000)
        for room in ["joining", "idle"] { _ = try a.member.rooms.place(room, on: "ND_a", now: 1_000) }
        let freed = try await a.member.claims.holding("joining") {
            try await a.member.round(now: 100_000).freedRooms
        }
        #expect(freed == ["idle"])
        #expect(try a.member.rooms.node(of: "joining") == "ND_a")

        let marked = a.member.claims.beginFreeing(["joining"])
        #expect(marked == ["joining"])
        await #expect(throws: RoomClaims.Freeing(room: "joining")) { try await a.member.claims.holding("joining") { joined.withLock { $0 = true } } }
        #expect(!joined.withLock { $0 })
        a.member.claims.endFreeing(marked)
        try await a.member.claims.holding("joining") { joined.withLock { $0 = true } }
        #expect(joined.withLock { $0 })
    }
}
