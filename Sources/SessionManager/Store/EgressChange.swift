/// A change worth telling the outside world about (webhooks): an egress was created, moved to
/// ACTIVE or ENDING or had a stream start or stop, or ended.
public struct EgressChange: Sendable {
    public enum Kind: Sendable, Equatable {
        case started, updated, ended
    }

    public let kind: Kind
    /// The egress as it is after the change.
    public let record: EgressRecord
}

/// Told of every change, in order per egress; called under the session manager's lock, so it
/// must only hand the change on (enqueue) and never call back into the manager.
public typealias EgressObserver = @Sendable (EgressChange) -> Void
