import Foundation
import GRDB
import SessionManager
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The embedded record store: one SQLite file, `egress.sqlite` in the state directory, in WAL
/// mode. A write returns once SQLite has committed it to the write-ahead log, so it survives the
/// process being killed at any point (with `synchronous = NORMAL` it is not flushed to the disk
/// itself at every commit; an operating system crash may lose the last writes, never corrupt the
/// file). Records are kept in `CompactCoder`'s form — the part of a record that never changes
/// once, the part that does at each change — beside the columns the store queries; the
/// file is readable by its owner only, as requests name storage credentials. One server at a
/// time: the directory is locked while open.
public final class SQLiteRecordStore: EgressRecordStore {
    public static let fileName = "egress.sqlite"
    /// The database file's path.
    public let path: String
    private let database: DatabaseQueue
    /// The state directory's lock (held open for the store's lifetime).
    private let lock: Int32
    /// Egresses whose fixed part is in the file.
    private let written = Mutex<Set<String>>([])

    /// Opens (or creates) the store in `directory`, which is made when missing. Throws, naming
    /// the file, when it cannot be opened, read or written, is not a database, or another
    /// process has it open; the file is then left exactly as it was.
    public init(directory: String) throws(EgressStoreError) {
        let path = directory + "/" + Self.fileName
        self.path = path
        lock = try Self.lockDirectory(directory)
        // Made here first, so that SQLite (and its -wal and -shm files) keep this mode.
        let created = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard created >= 0 else {
            let reason = String(cString: strerror(errno))
            close(lock)
            throw .storageFailed("the egress database \(path) cannot be opened: \(reason)")
        }
        close(created)
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.label = "egress-records"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // One process holds the file (the directory's lock says so): no file lock per transaction.
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
            // A write at every start: a file that can be read but not written fails here, not
            // at the first request.
            try database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('opened_at', ?)",
                               arguments: [Int64(Date().timeIntervalSince1970)])
            }
        } catch {
            close(lock)
            throw .storageFailed("the egress database \(path) cannot be used: \(error)")
        }
    }

    deinit {
        close(lock)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value ANY);
                CREATE TABLE egress (
                    id TEXT PRIMARY KEY NOT NULL,
                    sequence INTEGER NOT NULL,
                    room_name TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    ended_at INTEGER NOT NULL,
                    fixed BLOB NOT NULL,
                    progress BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE pending_event (
                    id TEXT PRIMARY KEY NOT NULL,
                    egress_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    progress BLOB NOT NULL
                );
                """)
        }
        return migrator
    }

    public func load() throws(EgressStoreError) -> StoredEgresses {
        let rows: (records: [Row], events: [Row])
        do {
            rows = try database.read { db in
                (try Row.fetchAll(db, sql: "SELECT id, fixed, progress FROM egress ORDER BY sequence"),
                 try Row.fetchAll(db, sql: "SELECT id, egress_id, kind, created_at, progress FROM pending_event ORDER BY rowid"))
            }
        } catch {
            throw .storageFailed("the egress database \(path) cannot be read: \(error)")
        }
        var stored = StoredEgresses()
        var fixedParts: [String: EgressRecord.Fixed] = [:]
        for row in rows.records {
            let fixed = try decode(EgressRecord.Fixed.self, row, "fixed", what: "an egress record")
            fixedParts[row["id"] ?? ""] = fixed
            stored.records.append(EgressRecord(fixed, try decode(EgressRecord.Progress.self, row, "progress", what: "an egress record")))
        }
        for row in rows.events {
            // An event outlives its record only if the record was removed: then it goes too.
            guard let fixed = fixedParts[row["egress_id"] ?? ""] else { continue }
            guard let kind = EgressChange.Kind(rawValue: row["kind"] ?? "") else {
                throw .storageFailed("the egress database \(path) has an event of an unknown kind (\(row["id"] ?? "?")); the file is left as it is")
            }
            let progress = try decode(EgressRecord.Progress.self, row, "progress", what: "an event")
            stored.changes.append(EgressChange(kind: kind, record: EgressRecord(fixed, progress), id: row["id"] ?? "", createdAt: row["created_at"] ?? 0))
        }
        written.withLock { $0.formUnion(fixedParts.keys) }
        return stored
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ row: Row, _ column: String, what: String) throws(EgressStoreError) -> Value {
        do {
            return try CompactCoder.decode(type, from: [UInt8](row[column] as Data? ?? Data()))
        } catch {
            let id: String = row["id"] ?? "?"
            throw .storageFailed("the egress database \(path) has \(what) it cannot read (\(id)): \(error); the file is left as it is")
        }
    }

    /// A new record is written whole; after that only its changing part (`EgressRecord.Progress`)
    /// is, and a change's event keeps that part too (the rest is its record's).
    public func save(_ record: EgressRecord, change: EgressChange?) throws(EgressStoreError) {
        do {
            let progress = Data(try CompactCoder.encode(record.progress))
            let fixed = written.withLock { $0.contains(record.id) } ? nil : Data(try CompactCoder.encode(record.fixed))
            try database.write { db in
                if let fixed {
                    try db.cachedStatement(sql: """
                        INSERT OR REPLACE INTO egress (id, sequence, room_name, status, ended_at, fixed, progress) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """).execute(arguments: [record.id, Int64(clamping: record.sequence), record.spec.roomName,
                                                 record.status.rawValue, record.endedAt, fixed, progress])
                } else {
                    try db.cachedStatement(sql: "UPDATE egress SET status = ?, ended_at = ?, progress = ? WHERE id = ?")
                        .execute(arguments: [record.status.rawValue, record.endedAt, progress, record.id])
                }
                if let change {
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO pending_event (id, egress_id, kind, created_at, progress) VALUES (?, ?, ?, ?, ?)")
                        .execute(arguments: [change.id, record.id, change.kind.rawValue, change.createdAt, progress])
                }
            }
            if fixed != nil { written.withLock { _ = $0.insert(record.id) } }
        } catch {
            throw .storageFailed("egress \(record.id) cannot be written to \(path): \(error)")
        }
    }

    public func remove(_ ids: [String]) throws(EgressStoreError) {
        do {
            try database.write { db in
                let statement = try db.cachedStatement(sql: "DELETE FROM egress WHERE id = ?")
                for id in ids { try statement.execute(arguments: [id]) }
            }
            written.withLock { $0.subtract(ids) }
        } catch {
            throw .storageFailed("egress records cannot be removed from \(path): \(error)")
        }
    }

    public func removeChange(_ id: String) throws(EgressStoreError) {
        do {
            try database.write { db in
                try db.cachedStatement(sql: "DELETE FROM pending_event WHERE id = ?").execute(arguments: [id])
            }
        } catch {
            throw .storageFailed("event \(id) cannot be removed from \(path): \(error)")
        }
    }

    /// Makes `directory` (owner only) and takes its lock, or says which process holds it.
    private static func lockDirectory(_ directory: String) throws(EgressStoreError) -> Int32 {
        var path = ""
        for component in directory.split(separator: "/") {
            path += (path.isEmpty && !directory.hasPrefix("/") ? "" : "/") + component
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                throw .storageFailed("the state directory \(directory) cannot be made: \(String(cString: strerror(errno)))")
            }
        }
        let lockPath = directory + "/egress.lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .storageFailed("the state directory \(directory) cannot be used: \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw .storageFailed("the state directory \(directory) is in use by another egress-server (\(lockPath) is locked)")
        }
        return descriptor
    }
}
