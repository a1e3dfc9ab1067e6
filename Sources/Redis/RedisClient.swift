import Synchronization

/// A Redis server shared by threads: one connection, used by one caller at a time, made on first
/// use and made again after it broke (a restarted or unreachable Redis is an error for the calls
/// that meet it, never a dead client). Calls block: run them off the event loops.
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    public let timeout: Duration
    private let connection = Mutex<RedisConnection?>(nil)

    public init(endpoint: RedisEndpoint, timeout: Duration = .seconds(2)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// Runs `body` on the connection, connecting first when there is none or the last one broke.
    public func withConnection<T: Sendable>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        try connection.withLock { (current: inout RedisConnection?) throws(RedisError) -> T in
            if current == nil || current?.isBroken == true {
                current = nil
                current = try RedisConnection(endpoint: endpoint, timeout: timeout)
            }
            guard let open = current else { throw .connectionFailed("\(endpoint): not connected") }
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
