import Synchronization

/// The serving status of each service, for the gRPC health protocol. "" is the server as a whole.
public final class HealthStatus: Sendable {
    /// `grpc.health.v1.HealthCheckResponse.ServingStatus`.
    public enum Serving: Int32, Sendable {
        case unknown = 0, serving = 1, notServing = 2, serviceUnknown = 3
    }

    private struct State {
        var statuses: [String: Serving] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<Serving>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func set(_ service: String, _ status: Serving) {
        let notify = state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for continuation in notify { continuation.yield(status) }
    }

    /// Marks every known service NOT_SERVING (on shutdown).
    public func setAllNotServing() {
        let services = state.withLock { Array($0.statuses.keys) }
        for service in services { set(service, .notServing) }
    }

    public func status(of service: String) -> Serving? {
        state.withLock { $0.statuses[service] }
    }

    public var all: [String: Serving] { state.withLock { $0.statuses } }

    /// The status of `service` now and at every change, until the consumer stops.
    public func updates(of service: String) -> AsyncStream<Serving> {
        let (stream, continuation) = AsyncStream<Serving>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (service, continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
