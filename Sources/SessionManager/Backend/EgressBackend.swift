/// The media side of an egress, behind which the session manager needs to know nothing of
/// rooms, codecs or files. The session manager calls `start` once and `stop` at most once; the
/// backend reports what happens through the reporter it is handed.
public protocol EgressBackend: Sendable {
    /// Begins the work for `egress`. Returning is not success: the backend reports
    /// `.mediaStarted`, and eventually `.finalized` or `.failed`, through `reporter`.
    func start(_ egress: EgressRecord, reporter: EgressReporter) async

    /// Asks for the outputs to be finished and closed; the backend then reports `.finalized`.
    func stop(_ egressID: String) async

    /// UpdateStream: starts streaming to `add` (ids given) and stops streaming to the URLs in
    /// `remove`, leaving the egress's other outputs as they are. The store has checked both.
    func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async

    /// After a restart: makes what an earlier process wrote for `egress` (live when that
    /// process died) as playable as it can be, and returns its results as they now are.
    func recover(_ egress: EgressRecord) async -> EgressResults
}

extension EgressBackend {
    /// A backend that writes nothing of its own has nothing to recover.
    public func recover(_ egress: EgressRecord) async -> EgressResults { egress.results }
}

/// What happens to one egress: the one vocabulary its state machine (`EgressState`) takes. A
/// backend reports all but `stopRequested`, which is the API's.
public enum EgressEvent: Sendable, Equatable {
    /// StopEgress: finish the outputs and end.
    case stopRequested
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
public struct EgressReporter: Sendable {
    let deliver: @Sendable (EgressEvent) -> Void

    public init(_ deliver: @escaping @Sendable (EgressEvent) -> Void) {
        self.deliver = deliver
    }

    public func report(_ event: EgressEvent) { deliver(event) }
}
