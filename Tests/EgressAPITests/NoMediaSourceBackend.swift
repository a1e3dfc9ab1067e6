import SessionManager

/// The backend used while the server has no media source: egresses wait for media that
/// cannot arrive, and stopping one closes it with nothing written, so it ends ABORTED, as a
/// LiveKit egress stopped before its media started does.
public struct NoMediaSourceBackend: EgressBackend {
    private let waiting = WaitingEgresses()

    public init() {}

    public func start(_ egress: EgressRecord, reporter: EgressReporter) async {
        await waiting.add(egress.id, reporter)
    }

    public func stop(_ egressID: String) async {
        await waiting.remove(egressID)?.report(.finalized(EgressResults()))
    }

    /// Nothing is streamed before media arrives, and here it never does: the store's records
    /// of the streams are all there is.
    public func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {}

    private actor WaitingEgresses {
        var events: [String: EgressReporter] = [:]

        func add(_ id: String, _ sink: EgressReporter) { events[id] = sink }
        func remove(_ id: String) -> EgressReporter? { events.removeValue(forKey: id) }
    }
}
