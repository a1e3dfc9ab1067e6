/// What went wrong talking to Redis: the connection (refused, timed out, closed, a broken
/// reply), or Redis's own error reply to a command. After a connection error the connection is
/// unusable; after a reply error it goes on.
public enum RedisError: Error, Equatable, CustomStringConvertible {
    /// Connecting, sending or receiving failed (hiredis's reason, with the server's address).
    case connectionFailed(String)
    /// Redis answered with an error (`ERR …`, `WRONGTYPE …`, `NOAUTH …`).
    case replied(String)
    /// A reply past the client's limits or of a shape the caller did not expect.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "Redis connection failed: \(reason)"
        case .replied(let message): "Redis refused the command: \(message)"
        case .unexpectedReply(let reason): "unexpected Redis reply: \(reason)"
        }
    }
}
