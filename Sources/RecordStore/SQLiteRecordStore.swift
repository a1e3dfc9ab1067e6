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
/// time: the directory is locked while open. Writes come in batches (the session manager's group
/// commit), one transaction each; the log is checkpointed beside them, never in a commit's way.
public final class SQLiteRecordStore: EgressRecordStore {
    public static let fileName = "egress.sqlite"
    /// The database file's path.
    public let path: String
    private let database: DatabaseQueue
    /// A second connection that copies the write-ahead log into the database (a passive
    /// checkpoint, which neither waits for the writer nor holds it up) every `checkpointInterval`.
    private let checkpointer: DatabaseQueue
    // Touched in init and deinit only. Made once the store is open: a source dropped while it
    // was never resumed stops the process.
    nonisolated(unsafe) private let checkpoints: any DispatchSourceTimer
    static let checkpointInterval: DispatchTimeInterval = .milliseconds(200)
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
        }
        var writerConfiguration = configuration
        writerConfiguration.prepareDatabase { db in
            // Checkpoints are the checkpointer's, on another connection: a commit never waits
            // for the write-ahead log to be copied into the database.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: writerConfiguration)
            try Self.migrator.migrate(database)
            checkpointer = try DatabaseQueue(path: path, configuration: configuration)
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
        checkpoints = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "egress-records-checkpoint"))
        checkpoints.schedule(deadline: .now() + Self.checkpointInterval, repeating: Self.checkpointInterval)
        checkpoints.setEventHandler { [checkpointer] in
            // A failure here is the next write's to report; the log waits for the next try.
            _ = try? checkpointer.writeWithoutTransaction { db in try Self.checkpoint(db) }
        }
        checkpoints.resume()
    }

    /// Frames of the write-ahead log (4 KiB pages) past which the log is started over.
    static let restartFrames = 4096

    /// Copies the log into the database without waiting for the writer. Under a steady stream
    /// of commits such a checkpoint never finds the log all copied, and the log would grow
    /// without end: past `restartFrames`, a second checkpoint waits for the writer between two
    /// commits (the few frames written meanwhile are all it copies) and has the log restart.
    private static func checkpoint(_ db: Database) throws {
        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
        let frames: Int = row?[1] ?? 0
        if frames > restartFrames {
            try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)")
        }
    }

    deinit {
        checkpoints.cancel()
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

    /// The writes in one transaction. A new record is written whole; after that only its
    /// changing part (`EgressRecord.Progress`) is, and a change's event keeps that part too (the
    /// rest is its record's).
    public func write(_ writes: [RecordWrite]) throws(EgressStoreError) {
        var newlyWritten: [String] = []
        var removed: [String] = []
        do {
            // Encoded before the transaction: the database is held for the SQL alone.
            let alreadyWritten = written.withLock { $0 }
            var encoded: [(RecordWrite, fixed: Data?, progress: Data?)] = []
            for write in writes {
                guard case .save(let record, _) = write else {
                    encoded.append((write, nil, nil))
                    continue
                }
                let isNew = !alreadyWritten.contains(record.id) && !newlyWritten.contains(record.id)
                encoded.append((write, isNew ? Data(try CompactCoder.encode(record.fixed)) : nil, Data(try CompactCoder.encode(record.progress))))
                if isNew { newlyWritten.append(record.id) }
            }
            try database.write { db in
                for (write, fixed, progress) in encoded {
                    switch write {
                    case .save(let record, let change):
                        try save(record, change: change, fixed: fixed, progress: progress ?? Data(), in: db)
                    case .remove(let ids):
                        let statement = try db.cachedStatement(sql: "DELETE FROM egress WHERE id = ?")
                        for id in ids { try statement.execute(arguments: [id]) }
                        removed += ids
                    case .removeChange(let id):
                        try db.cachedStatement(sql: "DELETE FROM pending_event WHERE id = ?").execute(arguments: [id])
                    }
                }
            }
        } catch {
            throw .storageFailed("\(writes.count == 1 ? "a change" : "\(writes.count) changes") cannot be written to \(path): \(error)")
        }
        written.withLock { written in
            written.formUnion(newlyWritten)
            written.subtract(removed)
        }
    }

    private func save(_ record: EgressRecord, change: EgressChange?, fixed: Data?, progress: Data, in db: Database) throws {
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
