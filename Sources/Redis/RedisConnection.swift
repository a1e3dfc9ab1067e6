import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// One blocking connection to Redis through hiredis: commands go out and their replies come
/// back on the calling thread, each with a timeout. One user at a time (`RedisClient` takes care
/// of that). After a connection error (refused, timed out, closed, a reply past the limits) the
/// connection is broken for good and every call throws; hiredis's pointers stay in this file.
public final class RedisConnection {
    public let endpoint: RedisEndpoint
    private let context: UnsafeMutablePointer<redisContext>
    public private(set) var isBroken = false
    /// The most arguments one command may have.
    static let maxArguments = 1_000_000

    /// Connects within `timeout` (which then bounds every command), logs in and selects the
    /// endpoint's database; throws `connectionFailed` naming the server and hiredis's reason.
    public init(endpoint: RedisEndpoint, timeout: Duration) throws(RedisError) {
        let limit = Self.timeval(timeout)
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(clamping: endpoint.port), limit) else {
            throw .connectionFailed("\(endpoint): out of memory")
        }
        if context.pointee.err != 0 {
            let reason = Self.reason(context)
            redisFree(context)
            throw .connectionFailed("\(endpoint): \(reason)")
        }
        _ = redisSetTimeout(context, limit)
        _ = redisEnableKeepAlive(context)
        self.context = context
        self.endpoint = endpoint
        if let password = endpoint.password {
            do {
                try command(endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
            } catch .replied(let message) {
                throw .connectionFailed("\(endpoint): AUTH refused: \(message)")
            }
        }
        if endpoint.database != 0 { try command(["SELECT", String(endpoint.database)]) }
    }

    deinit {
        redisFree(context)
    }

    /// Runs one command; an error reply is thrown as `replied`.
    @discardableResult
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        let reply = try pipeline([arguments])[0]
        if case .error(let message) = reply { throw .replied(message) }
        return reply
    }

    /// Sends every command, then reads every reply (one round trip); error replies come back as
    /// `.error` values in their place.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        guard !isBroken else { throw .connectionFailed("\(endpoint): the connection was lost before") }
        // Every command checked before any is queued: a refused one leaves nothing half sent.
        if let bad = commands.first(where: { $0.isEmpty || $0.count > Self.maxArguments }) {
            throw .unexpectedReply("a command needs 1 to \(Self.maxArguments) arguments, not \(bad.count)")
        }
        for arguments in commands {
            guard append(arguments) else { throw broken() }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        var budget = Budget()
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw broken() }
            defer { freeReplyObject(raw) }
            do {
                replies.append(try Self.convert(raw.assumingMemoryBound(to: redisReply.self), &budget, depth: 0))
            } catch {
                isBroken = true  // the rest of the replies are still on the wire
                throw error
            }
        }
        return replies
    }

    /// Runs `commands` as one MULTI/EXEC transaction: all or none. Returns EXEC's replies (an
    /// error reply among them is a command that failed inside the transaction).
    public func transaction(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        let replies = try pipeline([Array("MULTI".utf8)].map { [$0] } + commands + [[Array("EXEC".utf8)]])
        guard let exec = replies.last else { throw .unexpectedReply("no reply to EXEC") }
        switch exec {
        case .array(let results): return results
        case .error(let message):
            // EXECABORT: a command was refused while queued; name it.
            let refused = replies.dropFirst().dropLast().compactMap { if case .error(let m) = $0 { m } else { nil } }.first
            throw .replied(refused.map { "\(message) (\($0))" } ?? message)
        default: throw .unexpectedReply("EXEC answered \(exec.summary)")
        }
    }

    // MARK: hiredis

    private func append(_ arguments: [[UInt8]]) -> Bool {
        // One buffer for every argument (and a byte more, so that it is never empty).
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        for argument in arguments { flat += argument }
        flat.append(0)
        let lengths = arguments.map(\.count)
        return flat.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return UnsafeRawPointer(base + offset).assumingMemoryBound(to: CChar.self)
            }
            return lengths.withUnsafeBufferPointer { sizes in
                redisAppendCommandArgv(context, Int32(arguments.count), &pointers, sizes.baseAddress) == REDIS_OK
            }
        }
    }

    private func broken() -> RedisError {
        isBroken = true
        return .connectionFailed("\(endpoint): \(Self.reason(context))")
    }

    private static func reason(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        if context.pointee.err == REDIS_ERR_IO, text.contains("temporarily unavailable") { return "timed out" }
        if context.pointee.err == REDIS_ERR_EOF { return "the server closed the connection" }
        return text.isEmpty ? "error \(context.pointee.err)" : text
    }

    /// What the replies of one call may still take.
    private struct Budget {
        var bytes = RedisReply.maxBytes
        var elements = RedisReply.maxElements

        mutating func take(bytes count: Int) throws(RedisError) {
            guard count <= bytes else { throw .unexpectedReply("replies of more than \(RedisReply.maxBytes) bytes") }
            bytes -= count
        }

        mutating func take(elements count: Int) throws(RedisError) {
            guard count <= elements else { throw .unexpectedReply("replies of more than \(RedisReply.maxElements) elements") }
            elements -= count
        }
    }

    private static func convert(_ reply: UnsafePointer<redisReply>, _ budget: inout Budget, depth: Int) throws(RedisError) -> RedisReply {
        guard depth < 16 else { throw .unexpectedReply("nested more than 16 deep") }
        let value = reply.pointee
        func text() throws(RedisError) -> String {
            try budget.take(bytes: value.len)
            guard let start = value.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: start, count: value.len), as: UTF8.self)
        }
        switch value.type {
        case REDIS_REPLY_STRING:
            try budget.take(bytes: value.len)
            guard let start = value.str else { return .string([]) }
            return .string(Array(UnsafeRawBufferPointer(start: start, count: value.len)))
        case REDIS_REPLY_STATUS: return .status(try text())
        case REDIS_REPLY_ERROR: return .error(try text())
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            try budget.take(elements: value.elements)
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element?[index] else { throw .unexpectedReply("an array with a missing element") }
                elements.append(try convert(element, &budget, depth: depth + 1))
            }
            return .array(elements)
        default: throw .unexpectedReply("reply type \(value.type)")
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        let bounded = max(0, min(seconds, 86_400))
        return Glibc.timeval(tv_sec: Int(bounded), tv_usec: Int(max(0, attoseconds) / 1_000_000_000_000))
    }
}
