import Synchronization

/// A Redis server shared by threads: one connection, used by one caller at a time, made on first
/// use and made again after it broke (a restarted or unreachable Redis is an error for the calls
/// that meet it, never a dead client). A connection idle for `idleCheck` is asked PING before it
/// is used, and made again if that fails: a Redis restarted meanwhile closed it, and the call
/// goes to the new one instead of failing (a command is never sent twice). Calls block: run them
/// off the event loops.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    public let timeout: Duration
    public static let idleCheck: Duration = .seconds(1)
    private let connection = Mutex<(open: RedisConnection?, used: ContinuousClock.Instant)>((nil, .now))

    public init(endpoint: RedisEndpoint, timeout: Duration = .seconds(2)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// Runs `body` on the connection, connecting first when there is none or the last one broke.
    public func withConnection<T: Sendable>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        try connection.withLock { (current: inout (open: RedisConnection?, used: ContinuousClock.Instant)) throws(RedisError) -> T in
            let now = ContinuousClock.now
            if let open = current.open, !open.isBroken, now - current.used >= Self.idleCheck {
                _ = try? open.command(["PING"])
            }
            current.used = now
            if current.open == nil || current.open?.isBroken == true {
                current.open = nil
                current.open = try RedisConnection(endpoint: endpoint, timeout: timeout)
            }
            guard let open = current.open else { throw .connectionFailed("\(endpoint): not connected") }
            return try body(open)
        }
    }

    @discardableResult
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try withConnection { connection throws(RedisError) in try connection.command(arguments) }
    }

    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try withConnection { connection throws(RedisError) in try connection.command(arguments) }
    }

    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        try withConnection { connection throws(RedisError) in try connection.pipeline(commands) }
    }

    public func transaction(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        try withConnection { connection throws(RedisError) in try connection.transaction(commands) }
    }
}
