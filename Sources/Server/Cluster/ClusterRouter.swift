import Cluster
import EgressAPI
import Dispatch
import Placement
import RecordStore
import Redis
import RPC
import RPCClient
import SessionManager
import Support
import Synchronization

/// Where a call of the public API is answered in a cluster: on this node, or on the node that
/// hosts its room or runs its egress. Reads the registry, the room directory and the records in
/// Redis; when Redis cannot be reached, a call that needs it is UNAVAILABLE, never answered
/// from a guess.
final class ClusterRouter: Sendable {
    /// This node's id.
    let node: String
    let registry: NodeRegistry
    let rooms: RoomDirectory
    let records: RedisRecordStore
    let peers: NodePeers
    /// The registry's nodes, read at most this often.
    let nodesTTL: Duration
    /// The longest room name the hubs take: a longer one is neither looked up nor placed, and
    /// this node's own service refuses it, naming the limit.
    let maxRoomName: Int
    /// Silent for longer than this, a node takes no new rooms (`node_lost_after`).
    let lostAfter: Duration
    /// The rooms being joined on this node, shared with the sweep that frees unused ones.
    let claims = RoomClaims()
    private let cachedNodes = Mutex<(read: ContinuousClock.Instant, nodes: [NodeRecord])?>(nil)
    /// Where the blocking Redis calls run.
    private let queue = DispatchQueue(label: "cluster-router", attributes: .concurrent)

    init(node: String, redis: RedisClient, records: RedisRecordStore, peers: NodePeers, maxRoomName: Int, lostAfter: Duration,
         nodesTTL: Duration = .milliseconds(500)) {
        self.maxRoomName = maxRoomName
        self.lostAfter = lostAfter
        self.node = node
        registry = NodeRegistry(redis: redis)
        rooms = RoomDirectory(redis: redis)
        self.records = records
        self.peers = peers
        self.nodesTTL = nodesTTL
    }

    /// Where one call goes.
    enum Target: Sendable {
        case here
        case node(String, NodeTransport)
    }

    /// The registered nodes (up to `nodesTTL` old).
    func nodes() async throws(RPCError) -> [NodeRecord] {
        if let cached = cachedNodes.withLock({ $0 }), ContinuousClock.now - cached.read < nodesTTL { return cached.nodes }
        let nodes = try await redis("the cluster's nodes cannot be read") { [registry] () throws(RedisError) in try registry.nodes() }
        cachedNodes.withLock { $0 = (ContinuousClock.now, nodes) }
        return nodes
    }

    /// Calls to node `id`; UNAVAILABLE when it is not in the cluster (lost, or gone).
    func target(ofNode id: String, for what: String) async throws(RPCError) -> Target {
        if id == node { return .here }
        guard let record = try await nodes().first(where: { $0.id == id }) else {
            cachedNodes.withLock { $0 = nil }
            throw RPCError(.unavailable, "\(what) is on node \(id), which is not in the cluster now (lost or stopped); try again later")
        }
        return .node(id, try peers.transport(to: id, at: record.apiAddress))
    }

    /// The node of `room`. Unplaced, `placing` puts it on a node with the least CPU in use of two
    /// drawn (this one when the registry has none); otherwise it is answered here.
    func room(_ room: String, placing: Bool) async throws(RPCError) -> Target {
        guard let host = try await host(of: room, placing: placing) else { return .here }
        return try await target(ofNode: host, for: "room \(room)")
    }

    /// Whether a node the registry lists may take new rooms: not draining, and beating (a node
    /// that stopped is listed until it is found lost).
    func isAlive(_ record: NodeRecord, now: Int64) -> Bool {
        !record.draining && now - record.heartbeatAt < lostAfter.milliseconds
    }

    /// The node hosting `room` (placing it if it is new), its API address ("host:port") and a
    /// client of it; nil when that is this node.
    func roomNode(placing room: String) async throws(RPCError) -> (node: String, address: String, client: GRPCClient)? {
        guard let host = try await host(of: room, placing: true), host != node else { return nil }
        guard let record = try await nodes().first(where: { $0.id == host }) else {
            throw RPCError(.unavailable, "room \(room) is on node \(host), which is not in the cluster now (lost or stopped); try again later")
        }
        return (host, record.apiAddress, try peers.client(to: record.apiAddress))
    }

    /// Where an egress of `cost` cores recording `room` runs: the room's node (placing the room if
    /// it is new) when it has room for it, else a node that has (the egress then follows the room
    /// through the relay); when none has, see `NodeSelector.nodeForEgressWhenFull`.
    func egressNode(room: String, cost: Double) async throws(RPCError) -> Target {
        guard let roomNode = try await host(of: room, placing: true) else { return .here }
        let now = WallClock.nanoseconds() / 1_000_000
        let alive = try await nodes().filter { isAlive($0, now: now) }
        var random = SystemRandomNumberGenerator()
        let chosen = NodeSelector.nodeForEgress(cost: cost, among: alive, roomNode: roomNode, using: &random)
            ?? NodeSelector.nodeForEgressWhenFull(cost: cost, among: alive, roomNode: roomNode)
        return try await target(ofNode: chosen?.id ?? roomNode, for: "room \(room)'s egress")
    }

    /// Runs `join` (a participant joining, CreateRoom) on this node's hub for `room`, held
    /// against the sweep of unused rooms, once `room` is placed here: placed anew if it was
    /// freed while the call was on its way, UNAVAILABLE if it went to another node meanwhile.
    func hosting<T: Sendable>(_ room: String, _ join: () async throws -> T) async throws -> T {
        do {
            return try await claims.holding(room) {
                try await confirmHere(room)
                return try await join()
            }
        } catch is RoomClaims.Freeing {
            throw RPCError(.unavailable, "room \(room) is being freed on this node; try again")
        }
    }

    private func confirmHere(_ room: String) async throws(RPCError) {
        guard !room.isEmpty, room.utf8.count <= maxRoomName else { return }
        let now = WallClock.nanoseconds() / 1_000_000
        let host = try await redis("room \(room) cannot be placed") { [rooms, node] () throws(RedisError) in try rooms.place(room, on: node, now: now) }
        guard host == node else {
            throw RPCError(.unavailable, "room \(room) moved to node \(host) while the call was on its way; try again")
        }
    }

    /// The node hosting `room` and a client of it, when that is another node; nil when it is
    /// this one or the room is not placed. UNAVAILABLE when its node is not in the cluster.
    func roomHostElsewhere(_ room: String) async throws(RPCError) -> (node: String, client: GRPCClient)? {
        guard let host = try await host(of: room, placing: false), host != node else { return nil }
        guard let record = try await nodes().first(where: { $0.id == host }) else {
            throw RPCError(.unavailable, "room \(room) is on node \(host), which is not in the cluster now (lost or stopped)")
        }
        return (host, try peers.client(to: record.apiAddress))
    }

    /// The id of the node hosting `room`; nil when it is not placed and `placing` is false.
    private func host(of room: String, placing: Bool) async throws(RPCError) -> String? {
        guard !room.isEmpty, room.utf8.count <= maxRoomName else { return nil }
        let placed = try await redis("room \(room) cannot be looked up") { [rooms] () throws(RedisError) in try rooms.node(of: room) }
        if let placed {
            // A room left to a node that is no longer in the cluster (it was placed there just
            // as the node went): freed, and placed anew below.
            cachedNodes.withLock { if $0?.nodes.contains(where: { $0.id == placed }) == false { $0 = nil } }
            let registered = try await nodes().contains { $0.id == placed }
            if placed == node || registered { return placed }
            try await redis("room \(room) cannot be freed") { [rooms] () throws(RedisError) in try rooms.free(room, of: placed) }
        }
        guard placing else { return nil }
        var random = SystemRandomNumberGenerator()
        let now = WallClock.nanoseconds() / 1_000_000
        let chosen = NodeSelector.nodeForRoom(among: try await nodes().filter { isAlive($0, now: now) }, using: &random)?.id ?? node
        return try await redis("room \(room) cannot be placed") { [rooms] () throws(RedisError) in try rooms.place(room, on: chosen, now: now) }
    }

    /// The node that runs egress `id`; nil when the cluster has no such egress. An egress whose
    /// node is no longer in the cluster is answered from its record when it has ended (as any
    /// node would answer: it has ended); a live one is UNAVAILABLE until the node is cleaned up.
    func egress(_ id: String) async throws(RPCError) -> Target? {
        let owner = try await offLoop { [records] () throws(EgressStoreError) in try records.node(of: id) }
        guard let owner else { return nil }
        if owner != node, try await !nodes().contains(where: { $0.id == owner }) {
            let record = try await offLoop { [records] () throws(EgressStoreError) in
                try records.list(EgressQuery(egressID: id), pageSize: 1).records.first
            }
            if let record, record.status.isEnded { throw EgressStoreError.alreadyEnded(egressID: id, status: record.status).rpcError }
        }
        return try await target(ofNode: owner, for: "egress \(id)")
    }

    /// Every node's records, as ListEgress answers anywhere in the cluster.
    func list(_ query: EgressQuery, pageSize: Int) async throws(RPCError) -> EgressPage {
        try await offLoop { [records] () throws(EgressStoreError) in try records.list(query, pageSize: pageSize) }
    }

    /// Every node of the cluster with calls to it (this one as `.here`).
    func everyNode() async throws(RPCError) -> [Target] {
        var targets: [Target] = [.here]
        for record in try await nodes() where record.id != node {
            targets.append(.node(record.id, try peers.transport(to: record.id, at: record.apiAddress)))
        }
        return targets
    }

    private func redis<T: Sendable>(_ what: String, _ work: @escaping @Sendable () throws(RedisError) -> T) async throws(RPCError) -> T {
        do {
            return try await offLoop(work)
        } catch {
            throw RPCError(.unavailable, "\(what): \(error.message)")
        }
    }

    private func offLoop<T: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> T) async throws(RPCError) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(Failure) -> T in try work() }) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as any RPCErrorConvertible): throw error.rpcError
        case .failure(let error): throw RPCError(.unavailable, "the cluster's Redis cannot be reached (\(error)); nothing was changed")
        }
    }
}
