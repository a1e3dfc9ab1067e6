import SessionManager

/// The backend used while the server has no media source: egresses wait for media that
/// cannot arrive, and stopping one closes it with nothing written, so it ends ABORTED, as a
/// LiveKit egress stopped before its media started does.
public struct NoMediaSourceBackend: EgressBackend {
    private let waiting = WaitingEgresses()

    public init() {}

    public func start(_ egress: EgressRecord, events: EgressEvents) async {
        await waiting.add(egress.id, events)
    }

    public func stop(_ egressID: String) async {
        await waiting.remove(egressID)?.report(.finalized(EgressResults()))
    }

    private actor WaitingEgresses {
        var events: [String: EgressEvents] = [:]

        func add(_ id: String, _ sink: EgressEvents) { events[id] = sink }
        func remove(_ id: String) -> EgressEvents? { events.removeValue(forKey: id) }
    }
}
