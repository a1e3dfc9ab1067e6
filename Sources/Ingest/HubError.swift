/// Why the hub refused a call. Maps to INVALID_ARGUMENT, NOT_FOUND and ALREADY_EXISTS.
public enum HubError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case notFound(String)
    case alreadyExists(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .alreadyExists(let message): message
        }
    }
}
