/// A change worth telling the outside world about (webhooks): an egress was created, moved to
/// ACTIVE or ENDING or had a stream start or stop, or ended. Kept in the record store's journal
/// until delivered, so that it is sent after a restart too, under the same id.
public struct EgressChange: Sendable {
    public enum Kind: String, Sendable, Equatable, Codable {
        case started, updated, ended
    }

    public let kind: Kind
    /// The egress as it is after the change.
    public let record: EgressRecord
    /// The event's id (`EV_` and 12 random characters): the same on every delivery of it.
    public let id: String
    /// Unix seconds.
    public let createdAt: Int64

    public init(kind: Kind, record: EgressRecord, id: String, createdAt: Int64) {
        self.kind = kind
        self.record = record
        self.id = id
        self.createdAt = createdAt
    }
}

/// Where changes go (the webhooks).
public protocol EgressObserver: Sendable {
    /// Whether the changes of this egress go anywhere: only those are journaled and handed on.
    func observes(_ record: EgressRecord) -> Bool

    /// Takes a change, in order per egress. Called under the session manager's lock, so it must
    /// only hand the change on (enqueue) and never call back into the manager. `done` is called
    /// once the change has been delivered everywhere or given up on: it leaves the journal.
    func notify(_ change: EgressChange, done: @escaping @Sendable () -> Void)
}
