import Redis
import SessionManager
import Support
import Synchronization

/// The record store on Redis, for servers that share their records: every egress record, and
/// each server's journal of changes not yet delivered. A write returns once Redis has applied
/// it (`MULTI`/`EXEC`: a batch is all or none); how durable that is, is Redis's configuration
/// (`appendonly yes` with `appendfsync everysec` loses at most a second on a crash of Redis).
///
/// Keys, under a namespace (`egress` by default) so that one Redis can serve several clusters,
/// each egress's under its id as the hash tag so that Redis Cluster keeps them in one slot:
/// - `<ns>:egress:{<egress id>}` — a hash: `fixed` (the part of the record that never changes,
///   in `CompactCoder`'s form), `progress` (the part that does), `room`, `status`, `ended_at`,
///   `node` (the server that made it);
/// - `<ns>:egresses` — a sorted set of every egress id, scored by its sequence (the listing order);
/// - `<ns>:live:{<node>}` — a set of the node's egresses that have not ended (what another node
///   ends for it when it is lost);
/// - `<ns>:changes:{<node>}` — a hash of the node's undelivered changes, id → change.
public final class RedisRecordStore: EgressRecordStore {
    public let redis: RedisClient
    public let namespace: String
    /// Whose journal this store reads and writes.
    public let node: String
    /// Egresses whose fixed part is in Redis.
    private let written = Mutex<Set<String>>([])
    /// Orders the journal's changes (a change's time is in seconds).
    private let serial = Mutex<Int64>(0)
    /// Set once the cluster declared this node lost: its egresses were taken over, and a write
    /// of its now would contradict them (or send a webhook twice).
    private let fenced = Mutex(false)

    /// Refuses every write from now on.
    public func fence() {
        fenced.withLock { $0 = true }
    }

    /// Connects to check Redis is there and answering; throws naming the server when not.
    public init(redis: RedisClient, namespace: String = "egress", node: String) throws(EgressStoreError) {
        self.redis = redis
        self.namespace = namespace
        self.node = node
        do {
            try redis.command(["PING"])
        } catch {
            throw .storageFailed("the egress records' Redis \(redis.endpoint) cannot be used: \(error)")
        }
    }

    var indexKey: String { "\(namespace):egresses" }
    func recordKey(_ id: String) -> String { "\(namespace):egress:{\(id)}" }
    var changesKey: String { "\(namespace):changes:{\(node)}" }
    func liveKey(_ node: String) -> String { "\(namespace):live:{\(node)}" }

    /// A journaled change as stored: the record's changing part (the rest is its record's).
    private struct StoredChange: Codable {
        var egressID: String
        var kind: EgressChange.Kind
        var createdAt: Int64
        var serial: Int64
        var progress: EgressRecord.Progress
    }

    /// This node's records (those it made or took over) and its journal.
    public func load() throws(EgressStoreError) -> StoredEgresses {
        do {
            let ids = try redis.command(["ZRANGE", indexKey, "0", "-1"]).expectArray().compactMap(\.text)
            var stored = StoredEgresses()
            var fixedParts: [String: EgressRecord.Fixed] = [:]
            // Another node's: its to list, recover or leave to the node that cleans up after it.
            for (record, owner) in try read(ids) where owner == node {
                fixedParts[record.id] = record.fixed
                stored.records.append(record)
            }
            let journal = try redis.command(["HGETALL", changesKey]).expectArray()
            var changes: [StoredChange] = []
            var changeIDs: [String] = []
            for pair in stride(from: 0, to: journal.count - 1, by: 2) {
                guard let id = journal[pair].text, let bytes = journal[pair + 1].bytes else { continue }
                changes.append(try decode(StoredChange.self, bytes, what: "a change", id))
                changeIDs.append(id)
            }
            for (id, change) in zip(changeIDs, changes).sorted(by: { $0.1.serial < $1.1.serial }) {
                // A change outlives its record only if the record was removed: then it goes too.
                guard let fixed = fixedParts[change.egressID] else { continue }
                stored.changes.append(EgressChange(kind: change.kind, record: EgressRecord(fixed, change.progress), id: id, createdAt: change.createdAt))
            }
            serial.withLock { $0 = max($0, changes.map(\.serial).max() ?? 0) }
            written.withLock { $0.formUnion(fixedParts.keys) }
            return stored
        } catch let error as EgressStoreError {
            throw error
        } catch {
            throw .storageFailed("the egress records cannot be read from Redis \(redis.endpoint): \(error)")
        }
    }

    /// The records of `ids` (one round trip) with their owners; those removed meanwhile (by
    /// another server's retention) are left out.
    func read(_ ids: [String]) throws -> [(record: EgressRecord, owner: String?)] {
        let rows = try redis.pipeline(ids.map { ["HMGET", recordKey($0), "fixed", "progress", "node"].map(Self.bytes) })
        return try zip(ids, rows).compactMap { id, row in
            let fields = try row.expectArray()
            guard fields.count == 3, let fixed = fields[0].bytes, let progress = fields[1].bytes else { return nil }
            return (EgressRecord(try decode(EgressRecord.Fixed.self, fixed, what: "an egress record", id),
                                 try decode(EgressRecord.Progress.self, progress, what: "an egress record", id)), fields[2].text)
        }
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8], what: String, _ id: String) throws(EgressStoreError) -> Value {
        do {
            return try CompactCoder.decode(type, from: bytes)
        } catch {
            throw .storageFailed("Redis \(redis.endpoint) holds \(what) that cannot be read (\(id)): \(error); it is left as it is")
        }
    }

    /// The writes as one transaction. A new record is written whole; after that only its
    /// changing part and the fields beside it.
    public func write(_ writes: [RecordWrite]) throws(EgressStoreError) {
        guard !fenced.withLock({ $0 }) else {
            throw .storageFailed("this node (\(node)) was declared lost by the cluster: its egresses were taken over by another node")
        }
        var newlyWritten: [String] = []
        var removed: [String] = []
        var commands: [[[UInt8]]] = []
        do {
            let alreadyWritten = written.withLock { $0 }
            for write in writes {
                switch write {
                case .save(let record, let change):
                    let isNew = !alreadyWritten.contains(record.id) && !newlyWritten.contains(record.id)
                    let progress = try CompactCoder.encode(record.progress)
                    let changing: [[UInt8]] = [progress] + [String(record.status.rawValue), String(record.endedAt)].map(Self.bytes)
                    if isNew {
                        // Written whole, as this node's (a record another node made and this one
                        // ends, because that node was lost, becomes this node's).
                        commands.append(["HSET", recordKey(record.id), "node", node, "room", record.spec.roomName, "fixed"].map(Self.bytes)
                                        + [try CompactCoder.encode(record.fixed)] + zip(["progress", "status", "ended_at"].map(Self.bytes), changing).flatMap { [$0, $1] })
                        commands.append(["ZADD", indexKey, String(record.sequence), record.id].map(Self.bytes))
                        if !record.status.isEnded { commands.append(["SADD", liveKey(node), record.id].map(Self.bytes)) }
                        newlyWritten.append(record.id)
                    } else {
                        // Only while the record is still this node's: once another node ended it
                        // (this one was declared lost), this node's late changes are dropped.
                        commands.append(["EVAL", Self.ownedUpdate, "1", recordKey(record.id), node].map(Self.bytes) + changing)
                    }
                    if record.status.isEnded { commands.append(["SREM", liveKey(node), record.id].map(Self.bytes)) }
                    if let change {
                        let stored = StoredChange(egressID: record.id, kind: change.kind, createdAt: change.createdAt,
                                                  serial: nextSerial(), progress: record.progress)
                        commands.append(["HSET", changesKey, change.id].map(Self.bytes) + [try CompactCoder.encode(stored)])
                    }
                case .remove(let ids):
                    guard !ids.isEmpty else { continue }
                    commands.append((["DEL"] + ids.map(recordKey)).map(Self.bytes))
                    commands.append((["ZREM", indexKey] + ids).map(Self.bytes))
                    removed += ids
                case .removeChange(let id):
                    commands.append(["HDEL", changesKey, id].map(Self.bytes))
                }
            }
        } catch {
            throw .storageFailed("a change cannot be encoded for Redis: \(error)")
        }
        guard !commands.isEmpty else { return }
        do {
            let results = try redis.transaction(commands)
            if let failed = results.first(where: { if case .error = $0 { true } else { false } }) {
                // Inside EXEC the others were applied: Redis has no rollback. Only a wrong key type
                // gets here (a key of ours overwritten by someone else).
                throw RedisError.replied("\(failed)")
            }
        } catch {
            throw .storageFailed("\(writes.count == 1 ? "a change" : "\(writes.count) changes") cannot be written to Redis \(redis.endpoint): \(error)")
        }
        written.withLock { written in
            written.formUnion(newlyWritten)
            written.subtract(removed)
        }
    }

    /// The egresses `node` made that have not ended, as stored (another node ends them when
    /// `node` is lost). Saved through this store next, each is written whole, as this node's.
    public func liveRecords(of node: String) throws(EgressStoreError) -> [EgressRecord] {
        do {
            let ids = try redis.command(["SMEMBERS", liveKey(node)]).expectArray().compactMap(\.text)
            let records = try read(ids).map(\.record).filter { !$0.status.isEnded }
            written.withLock { $0.subtract(records.map(\.id)) }
            return records.sorted { $0.sequence < $1.sequence }
        } catch let error as EgressStoreError {
            throw error
        } catch {
            throw .storageFailed("the live egresses of node \(node) cannot be read from Redis \(redis.endpoint): \(error)")
        }
    }

    /// Forgets what a node that is gone for good kept for itself: its set of live egresses (once
    /// they are ended) and its undelivered changes.
    public func forgetNode(_ node: String) throws(EgressStoreError) {
        do {
            // One key per command: the two live in different slots of a Redis Cluster.
            _ = try redis.pipeline([["DEL", liveKey(node)], ["DEL", "\(namespace):changes:{\(node)}"]].map { $0.map(Self.bytes) })
        } catch {
            throw .storageFailed("node \(node)'s keys cannot be removed from Redis \(redis.endpoint): \(error)")
        }
    }

    /// Updates a record's changing fields if `node` still owns it; 1 if it did, 0 if not. (EVAL,
    /// not EVALSHA: inside MULTI a script Redis has forgotten would fail alone, the rest applied.)
    static let ownedUpdate = """
        if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'status', ARGV[3], 'ended_at', ARGV[4])
        return 1
        """

    private func nextSerial() -> Int64 {
        serial.withLock { last in
            last = max(last + 1, WallClock.nanoseconds())
            return last
        }
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}
