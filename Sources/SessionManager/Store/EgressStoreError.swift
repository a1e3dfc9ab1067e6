import Support

/// Why the egress store refused a request; the API layer gives each case its gRPC status.
public enum EgressStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(egressID: String)
    /// UpdateStream named a URL the egress does not stream to (redacted).
    case streamNotFound(url: String)
    /// UpdateStream on an egress without a stream output.
    case notStreaming
    /// The egress has already ended.
    case alreadyEnded(egressID: String, status: EgressStatus)
    /// The egress is not in a state that allows the operation.
    case wrongState(String)
    case capacityExhausted(limit: Int)
    case invalidPageToken
    /// A request that would take an egress past one of its limits.
    case tooMany(String)
    /// The record store could not be read or written (names the store and the reason).
    case storageFailed(String)
    /// The egress's expected CPU cost does not fit beside the live ones (cores).
    case notEnoughCPU(needed: Double, available: Double, capacity: Double)
    /// The server is draining (SIGTERM): no new egress starts.
    case shuttingDown

    public var description: String {
        switch self {
        case .notFound(let id): "egress \(id) not found"
        case .streamNotFound(let url): "stream \(url) not found"
        case .notStreaming: "UpdateStream called on non-streaming egress"
        case .alreadyEnded(let id, let status): "egress \(id) has already ended (\(status))"
        case .wrongState(let message): message
        case .capacityExhausted(let limit): "the server is already running its limit of \(limit) egresses"
        case .invalidPageToken: "page_token is not one this server issued"
        case .tooMany(let message): message
        case .storageFailed(let message): message
        case .notEnoughCPU(let needed, let available, let capacity):
            "not enough CPU: this egress needs \(DecimalText.hundredths(needed)) cores and \(DecimalText.hundredths(available)) of the \(DecimalText.hundredths(capacity)) egresses may use are free"
        case .shuttingDown: "server is shutting down"
        }
    }
}
