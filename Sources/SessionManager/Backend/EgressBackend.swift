/// The media side of an egress, behind which the session manager needs to know nothing of
/// rooms, codecs or files. The session manager calls `start` once and `stop` at most once; the
/// backend reports progress through the events it is handed.
public protocol EgressBackend: Sendable {
    /// Begins the work for `egress`. Returning is not success: the backend reports
    /// `.mediaStarted`, and eventually `.finalized` or `.failed`, through `events`.
    func start(_ egress: EgressRecord, events: EgressEvents) async

    /// Asks for the outputs to be finished and closed; the backend then reports `.finalized`.
    func stop(_ egressID: String) async
}

/// What a backend reports about one egress.
public enum EgressUpdate: Sendable {
    /// The first media arrived (Unix ns).
    case mediaStarted(at: Int64)
    /// The room's id became known (`EgressInfo.room_id`).
    case roomIdentified(String)
    /// Results so far (file sizes, stream states), without a change of state.
    case progress(EgressResults)
    /// The source went away (participant left, track unpublished for good): the egress ends.
    case sourceEnded(reason: String)
    /// Outputs are closed. Ends COMPLETE if media was recorded, ABORTED if none ever arrived.
    case finalized(EgressResults)
    /// The egress cannot go on. What was written stays listed in `results`.
    case failed(error: String, code: Int32, details: String, results: EgressResults)
    /// A configured limit ended it.
    case limitReached(EgressResults)
}

/// The channel from a backend back to the session manager for one egress.
public struct EgressEvents: Sendable {
    let deliver: @Sendable (EgressUpdate) -> Void

    public init(_ deliver: @escaping @Sendable (EgressUpdate) -> Void) {
        self.deliver = deliver
    }

    public func report(_ update: EgressUpdate) { deliver(update) }
}
