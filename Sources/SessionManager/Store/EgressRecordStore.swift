/// Where the session manager's records are kept so that they outlive the process: every record
/// and the changes not yet delivered (the journal). The session manager keeps its working copy
/// in memory and writes through to this store before it answers or notifies, so an
/// implementation must be durable when a call returns. The embedded one is SQLite
/// (`SQLiteRecordStore`); a store shared by several servers is another implementation.
public protocol EgressRecordStore: Sendable {
    /// Everything an earlier run stored.
    func load() throws(EgressStoreError) -> StoredEgresses

    /// Stores `record` (new or changed) and `change` with it when given, both or neither.
    func save(_ record: EgressRecord, change: EgressChange?) throws(EgressStoreError)

    /// Forgets records (ended ones past the count or age limits).
    func remove(_ ids: [String]) throws(EgressStoreError)

    /// A journaled change was delivered or given up on.
    func removeChange(_ id: String) throws(EgressStoreError)
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
