import Redis
import Support
import Placement

/// The cluster's nodes in Redis: each node registers, then says it is alive (its heartbeat,
/// with how busy it is) every second or so; a node whose heartbeats stopped for longer than the
/// cluster's `lost_after` is lost, and one node — the one that takes the lease on it — cleans up
/// after it and removes it. A removed node's heartbeats are refused, so a node that comes back
/// with a stale view learns it was declared lost instead of resurrecting.
///
/// Keys (the registry's two share the hash tag `{nodes}`, one slot in Redis Cluster, so that a
/// heartbeat updates both in one script):
/// - `<ns>:{nodes}:records` — a hash: node id → its `NodeRecord`;
/// - `<ns>:{nodes}:heartbeats` — a sorted set: node id → its last heartbeat (ms since 1970);
/// - `<ns>:lease:{<name>}` — a lease: the holder's id, expiring by itself.
///
/// Calls block (hiredis): run them off the event loops.
public final class NodeRegistry: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String = "egress") {
        self.redis = redis
        self.namespace = namespace
    }

    var recordsKey: String { "\(namespace):{nodes}:records" }
    var heartbeatsKey: String { "\(namespace):{nodes}:heartbeats" }
    func leaseKey(_ name: String) -> String { "\(namespace):lease:{\(name)}" }

    /// What a heartbeat found.
    public enum Heartbeat: Sendable, Equatable {
        case alive
        /// The others declared this node lost (and cleaned up after it): it must register again
        /// under a new id, and what it still runs is no longer its own.
        case declaredLost
    }

    /// Adds `node` to the cluster. Throws `replied` when its id is taken.
    public func register(_ node: NodeRecord) throws(RedisError) {
        let added = try redis.command(["ZADD", heartbeatsKey, "NX", "CH", "\(node.heartbeatAt)", node.id]).expectInteger()
        guard added == 1 else { throw .replied("node id \(node.id) is already registered") }
        try redis.command(["HSET", recordsKey, node.id, node.encoded])
    }

    /// Updates the node's record and heartbeat, unless it was removed meanwhile.
    public func heartbeat(_ node: NodeRecord) throws(RedisError) -> Heartbeat {
        let script = """
            if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
            redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
            return 1
            """
        let updated = try redis.command(["EVAL", script, "2", recordsKey, heartbeatsKey, node.id, "\(node.heartbeatAt)", node.encoded]).expectInteger()
        return updated == 1 ? .alive : .declaredLost
    }

    /// Every registered node (lost ones too, until they are removed); records that cannot be
    /// read are left out.
    public func nodes() throws(RedisError) -> [NodeRecord] {
        let fields = try redis.command(["HGETALL", recordsKey]).expectArray()
        return stride(from: 0, to: fields.count - 1, by: 2).compactMap { fields[$0 + 1].text.flatMap(NodeRecord.init(encoded:)) }
    }

    /// The nodes whose last heartbeat is older than `lostAfter` at `now` (both in ms).
    public func silentNodes(now: Int64, lostAfter: Int64) throws(RedisError) -> [String] {
        let cutoff = now &- lostAfter
        return try redis.command(["ZRANGEBYSCORE", heartbeatsKey, "-inf", "(\(cutoff)", "LIMIT", "0", "1000"]).expectArray().compactMap(\.text)
    }

    /// Removes a node (lost, once cleaned up after, or leaving): no longer listed, and its
    /// heartbeats are refused from now on.
    public func remove(_ id: String) throws(RedisError) {
        _ = try redis.transaction([["ZREM", heartbeatsKey, id], ["HDEL", recordsKey, id]].map { $0.map { Array($0.utf8) } })
    }

    /// Takes the lease `name` for `holder` for `duration` if nobody holds it; true when taken.
    public func claimLease(_ name: String, holder: String, for duration: Duration) throws(RedisError) -> Bool {
        let milliseconds = max(1, duration.milliseconds)
        return try redis.command(["SET", leaseKey(name), holder, "NX", "PX", "\(milliseconds)"]) == .status("OK")
    }

    /// Gives the lease back if `holder` still holds it.
    public func releaseLease(_ name: String, holder: String) throws(RedisError) {
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        try redis.command(["EVAL", script, "1", leaseKey(name), holder])
    }
}
