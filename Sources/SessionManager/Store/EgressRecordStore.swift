/// Where the session manager's records are kept so that they outlive the process: every record
/// and the changes not yet delivered (the journal). The session manager keeps its working copy
/// in memory and writes through to this store before it answers or notifies, so an
/// implementation must be durable when a call returns. The embedded one is SQLite
/// (`SQLiteRecordStore`); a store shared by several servers is another implementation.
public protocol EgressRecordStore: Sendable {
    /// Everything an earlier run stored.
    func load() throws(EgressStoreError) -> StoredEgresses

    /// Makes `writes` durable, in their order, all or none. The session manager hands over
    /// whatever queued up while the previous batch was written (group commit), from one thread
    /// at a time.
    func write(_ writes: [RecordWrite]) throws(EgressStoreError)
}

/// One change to a record store.
public enum RecordWrite: Sendable {
    /// A record, new or changed, and the change the observer will be given with it (journaled
    /// until `removeChange`).
    case save(EgressRecord, change: EgressChange?)
    /// Forget records (ended ones past the count or age limits).
    case remove([String])
    /// A journaled change was delivered or given up on.
    case removeChange(String)
}

extension EgressRecordStore {
    /// Stores `record` (new or changed) and `change` with it when given, both or neither.
    public func save(_ record: EgressRecord, change: EgressChange?) throws(EgressStoreError) {
        try write([.save(record, change: change)])
    }

    public func remove(_ ids: [String]) throws(EgressStoreError) {
        try write([.remove(ids)])
    }

    public func removeChange(_ id: String) throws(EgressStoreError) {
        try write([.removeChange(id)])
    }
}

/// What a record store holds.
public struct StoredEgresses: Sendable {
    /// Every record, oldest first.
    public var records: [EgressRecord]
    /// Changes not yet delivered, oldest first.
    public var changes: [EgressChange]

    public init(records: [EgressRecord] = [], changes: [EgressChange] = []) {
        self.records = records
        self.changes = changes
    }
}
