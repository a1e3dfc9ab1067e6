import Dispatch
import Logging
import RecordStore
import Redis
import SessionManager
import Support
import Synchronization
import Placement

/// This server as a member of the cluster: registered in the node registry, beating with its
/// load, and watching for nodes whose heartbeats stopped. For each lost node, one node — the one
/// that takes the lease on it — ends the lost node's live egresses as FAILED ("egress node lost",
/// one `egress_ended` each, sent from there) and removes it. A member told by its heartbeat that
/// it was declared lost keeps nothing of its own: its records were taken over, and its late
/// writes to them are dropped by the record store.
public final class ClusterMember: Sendable {
    public struct Configuration: Sendable {
        public var heartbeatInterval: Duration
        /// Silent for longer than this, a node is lost (LiveKit's egress: 10 s).
        public var lostAfter: Duration
        /// How long one node may take to clean up after a lost one before another may.
        public var cleanupLease: Duration

        public init(heartbeatInterval: Duration = .seconds(1), lostAfter: Duration = .seconds(10), cleanupLease: Duration = .seconds(60)) {
            self.heartbeatInterval = heartbeatInterval
            self.lostAfter = lostAfter
            self.cleanupLease = cleanupLease
        }
    }

    public let registry: NodeRegistry
    /// Where the cluster's rooms are hosted.
    public let rooms: RoomDirectory
    public let records: RedisRecordStore
    public let egresses: EgressStore
    public let configuration: Configuration
    /// This node's record as of now (addresses, capacity, load), heartbeat time aside.
    private let describe: @Sendable () -> NodeRecord
    /// The rooms this node's hub has or its egresses record: the others placed on it are freed.
    private let roomsInUse: @Sendable () async -> Set<String>
    /// The rooms being joined here, which are not freed meanwhile.
    public let claims: RoomClaims
    private let logger: Logger
    /// Where the blocking Redis calls run: off the event loops and Swift's task threads.
    private let queue = DispatchQueue(label: "cluster-member")
    /// Since when this node's heartbeats have gone through without a break (ms). Other nodes are
    /// judged only once that is `lostAfter` long: after a Redis outage every node's last
    /// heartbeat is old, and none of them is lost for that.
    private let beatingSince = Mutex<Int64?>(nil)
    /// When this node last looked for rooms placed on it that it no longer uses (ms).
    private let lastSweep = Mutex<Int64>(0)

    public var node: String { records.node }

    public init(registry: NodeRegistry, records: RedisRecordStore, egresses: EgressStore, configuration: Configuration = .init(),
                logger: Logger, roomsInUse: @escaping @Sendable () async -> Set<String> = { [] }, claims: RoomClaims = RoomClaims(),
                describe: @escaping @Sendable () -> NodeRecord) {
        self.claims = claims
        self.registry = registry
        rooms = RoomDirectory(redis: registry.redis, namespace: registry.namespace)
        self.roomsInUse = roomsInUse
        self.records = records
        self.egresses = egresses
        self.configuration = configuration
        self.logger = logger
        self.describe = describe
    }

    /// What one round did.
    public struct Round: Sendable, Equatable {
        public var heartbeat: NodeRegistry.Heartbeat
        /// Lost nodes this member cleaned up after, with the egresses it ended for each.
        public var cleanedUp: [String: [String]] = [:]
        /// Rooms placed on this node that it no longer used, freed.
        public var freedRooms: [String] = []
    }

    /// Adds this node to the registry.
    public func join(now: Int64 = WallClock.nanoseconds() / 1_000_000) async throws {
        var record = describe()
        record.heartbeatAt = now
        try await offLoop { [registry, record] () throws(RedisError) in try registry.register(record) }
        beatingSince.withLock { $0 = now }
    }

    /// Leaves the registry (a node that stops on purpose is not lost) and frees its rooms.
    public func leave() async throws {
        try await offLoop { [registry, rooms, node] () throws(RedisError) in
            try rooms.freeAll(of: node)
            try registry.remove(node)
        }
    }

    /// How long a room placed on this node may go unused before it is freed: long enough for
    /// the call that placed it to reach the node.
    public static let roomGrace: Int64 = 30_000

    /// Frees the rooms placed on this node before `cutoff` (ms) that it no longer uses: each is
    /// held against joins here (see `RoomClaims`) from before the look at what is in use until
    /// it is freed.
    private func freeUnusedRooms(placedBefore cutoff: Int64) async throws -> [String] {
        let placed = try await offLoop { [rooms, node] () throws(RedisError) in try rooms.rooms(of: node, placedBefore: cutoff) }
        let held = claims.beginFreeing(placed)
        defer { claims.endFreeing(held) }
        let inUse = await roomsInUse()
        let unused = held.filter { !inUse.contains($0) }
        try await offLoop { [rooms, node] () throws(RedisError) in
            for room in unused { try rooms.free(room, of: node) }
        }
        return unused
    }

    /// One heartbeat, then one look for lost nodes (times in ms since 1970).
    public func round(now: Int64 = WallClock.nanoseconds() / 1_000_000) async throws -> Round {
        var record = describe()
        record.heartbeatAt = now
        let heartbeat: NodeRegistry.Heartbeat
        do {
            heartbeat = try await offLoop { [registry, record] () throws(RedisError) in try registry.heartbeat(record) }
        } catch {
            beatingSince.withLock { $0 = nil }
            throw error
        }
        var round = Round(heartbeat: heartbeat)
        if heartbeat == .declaredLost {
            // Its egresses were taken over: nothing of it may be written or sent any more.
            records.fence()
            logger.error("this node was declared lost by the cluster: its egresses were ended by another node", metadata: ["node": "\(node)"])
            return round
        }
        let sweeps = lastSweep.withLock { last in
            guard now - last >= Self.roomGrace / 2 else { return false }
            last = now
            return true
        }
        if sweeps { round.freedRooms = try await freeUnusedRooms(placedBefore: now - Self.roomGrace) }
        let lostAfter = configuration.lostAfter.milliseconds
        let since = beatingSince.withLock { since in
            if since == nil { since = now }
            return since ?? now
        }
        guard now - since >= lostAfter else { return round }
        let silent = try await offLoop { [registry] () throws(RedisError) in try registry.silentNodes(now: now, lostAfter: lostAfter) }
        for lost in silent where lost != node {
            let lease = configuration.cleanupLease
            let taken = try await offLoop { [registry, node] () throws(RedisError) in try registry.claimLease("lost:\(lost)", holder: node, for: lease) }
            guard taken else { continue }  // another node cleans up after it
            logger.warning("node lost: ending its egresses", metadata: ["node": "\(lost)"])
            let live = try await offLoop { [records] () throws(EgressStoreError) in try records.liveRecords(of: lost) }
            let ended = await egresses.endOrphans(live, node: lost)
            round.cleanedUp[lost] = ended
            guard ended.count == live.count else {
                // Some could not be written: the node stays, and is cleaned up again once the lease expires.
                logger.error("lost node only partly cleaned up", metadata: ["node": "\(lost)", "ended": "\(ended.count)", "live": "\(live.count)"])
                continue
            }
            try await offLoop { [records, registry, rooms] () throws(any Error) in
                try records.forgetNode(lost)
                try rooms.freeAll(of: lost)
                try registry.remove(lost)
            }
        }
        return round
    }

    /// Rounds every heartbeat interval until the task is cancelled; a round that fails (Redis
    /// unreachable) is logged and the next one tries again.
    public func run() async {
        while !Task.isCancelled {
            do {
                _ = try await round()
            } catch {
                logger.error("cluster heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    private func offLoop<T: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { () throws(Failure) -> T in try work() }) }
        }
    }
}
