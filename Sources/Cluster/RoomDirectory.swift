import Redis

/// Which node's hub hosts each room of the cluster. A room is placed when it is first needed
/// (a participant joins, CreateRoom, an egress for it starts); every participant of it then
/// publishes to that node, and its egresses run there. A node frees its rooms when its hub no
/// longer has them; a lost node's rooms are freed when it is cleaned up after.
///
/// Keys (one per room, hashed by the room's name in Redis Cluster; one per node):
/// - `<ns>:room:{<room>}` — the node that hosts the room;
/// - `<ns>:node-rooms:{<node>}` — a sorted set: the rooms placed on the node → when (ms).
///
/// Calls block (hiredis): run them off the event loops.
public final class RoomDirectory: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String = "egress") {
        self.redis = redis
        self.namespace = namespace
    }

    func roomKey(_ room: String) -> [UInt8] { Array("\(namespace):room:{".utf8) + Array(room.utf8) + Array("}".utf8) }
    func nodeRoomsKey(_ node: String) -> String { "\(namespace):node-rooms:{\(node)}" }

    /// The node hosting `room`, if it is placed.
    public func node(of room: String) throws(RedisError) -> String? {
        try redis.command([Array("GET".utf8), roomKey(room)]).text
    }

    /// Places `room` on `node` unless it is placed already; returns the node that hosts it
    /// (`node`, or the one another node placed it on first).
    public func place(_ room: String, on node: String, now: Int64) throws(RedisError) -> String {
        let reply = try redis.command([Array("SET".utf8), roomKey(room), Array(node.utf8), Array("NX".utf8), Array("GET".utf8)])
        if let existing = reply.text { return existing }
        try redis.command([Array("ZADD".utf8), Array(nodeRoomsKey(node).utf8), Array("\(now)".utf8), Array(room.utf8)])
        return node
    }

    /// Frees `room` if `node` still hosts it.
    public func free(_ room: String, of node: String) throws(RedisError) {
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        try redis.command([Array("EVAL".utf8), Array(script.utf8), Array("1".utf8), roomKey(room), Array(node.utf8)])
        try redis.command([Array("ZREM".utf8), Array(nodeRoomsKey(node).utf8), Array(room.utf8)])
    }

    /// The rooms placed on `node` before `before` (ms), at most `limit` of them.
    public func rooms(of node: String, placedBefore before: Int64 = .max, limit: Int = 10_000) throws(RedisError) -> [String] {
        try redis.command(["ZRANGEBYSCORE", nodeRoomsKey(node), "-inf", before == .max ? "+inf" : "(\(before)", "LIMIT", "0", "\(limit)"])
            .expectArray().compactMap(\.text)
    }

    /// Frees every room of a node that is gone.
    public func freeAll(of node: String) throws(RedisError) {
        while true {
            let rooms = try rooms(of: node, limit: 1000)
            if rooms.isEmpty { break }
            for room in rooms { try free(room, of: node) }
        }
        try redis.command(["DEL", nodeRoomsKey(node)])
    }
}
