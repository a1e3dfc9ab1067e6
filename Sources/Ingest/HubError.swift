/// Why the hub refused a call. Maps to INVALID_ARGUMENT, NOT_FOUND and ALREADY_EXISTS (a full
/// room is INVALID_ARGUMENT over RPC, as it always was; WHIP answers it 503).
public enum HubError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case notFound(String)
    case alreadyExists(String)
    case roomFull(String)
    /// Plain RTP ingest is turned off (`--rtp-ingest off`).
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .alreadyExists(let message), .roomFull(let message),
             .unavailable(let message): message
        }
    }
}
