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
///   in `CompactCoder`'s form), `progress` (the part that does), `room`, `status`, `ended_at`;
/// - `<ns>:egresses` — a sorted set of every egress id, scored by its sequence (the listing order);
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

    /// A journaled change as stored: the record's changing part (the rest is its record's).
    private struct StoredChange: Codable {
        var egressID: String
        var kind: EgressChange.Kind
        var createdAt: Int64
        var serial: Int64
        var progress: EgressRecord.Progress
    }

    public func load() throws(EgressStoreError) -> StoredEgresses {
        do {
            let ids = try redis.command(["ZRANGE", indexKey, "0", "-1"]).expectArray().compactMap(\.text)
            let rows = try redis.pipeline(ids.map { [Array("HMGET".utf8), Array(recordKey($0).utf8), Array("fixed".utf8), Array("progress".utf8)] })
            var stored = StoredEgresses()
            var fixedParts: [String: EgressRecord.Fixed] = [:]
            for (id, row) in zip(ids, rows) {
                let fields = try row.expectArray()
                // Removed between the two reads (by another server's retention): gone.
                guard fields.count == 2, let fixed = fields[0].bytes, let progress = fields[1].bytes else { continue }
                let fixedPart = try decode(EgressRecord.Fixed.self, fixed, what: "an egress record", id)
                fixedParts[id] = fixedPart
                stored.records.append(EgressRecord(fixedPart, try decode(EgressRecord.Progress.self, progress, what: "an egress record", id)))
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
                    var fields: [[UInt8]] = ["HSET", recordKey(record.id), "progress"].map(Self.bytes) + [progress]
                    fields += ["status", String(record.status.rawValue), "ended_at", String(record.endedAt)].map(Self.bytes)
                    if isNew {
                        fields += ["fixed"].map(Self.bytes) + [try CompactCoder.encode(record.fixed)]
                        fields += ["room", record.spec.roomName].map(Self.bytes)
                        commands.append(["ZADD", indexKey, String(record.sequence), record.id].map(Self.bytes))
                        newlyWritten.append(record.id)
                    }
                    commands.append(fields)
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

    private func nextSerial() -> Int64 {
        serial.withLock { last in
            last = max(last + 1, WallClock.nanoseconds())
            return last
        }
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}
