import GRPCWire
import HTTP
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Support

/// A gRPC client of one server: every call multiplexed on one HTTP/2 connection (h2c, or TLS
/// with ALPN), opened on the first call and opened again, with back-off, after it is lost or the
/// server sends GOAWAY. Calls are signed by its `TokenSource`. Safe to share between tasks.
public final class GRPCClient: ClientTransport {
    public let configuration: GRPCClientConfiguration
    let tokens: (any TokenSource)?
    private let connections: ConnectionKeeper
    private let counters: Counters
    private let scheme: String
    private let authority: String

    /// - Parameters:
    ///   - tokens: signs each call (`authorization: Bearer`); nil sends none.
    ///   - group: the event loops the connection runs on.
    public init(configuration: GRPCClientConfiguration, tokens: (any TokenSource)? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "egress.client")) throws {
        self.configuration = configuration
        self.tokens = tokens
        var sslContext: NIOSSLContext?
        if let tls = configuration.tls {
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.applicationProtocols = ["h2"]
            if let caFile = tls.caFile {
                settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            sslContext = try NIOSSLContext(configuration: settings)
        }
        scheme = sslContext == nil ? "http" : "https"
        authority = configuration.port == (sslContext == nil ? 80 : 443) ? configuration.host : "\(configuration.host):\(configuration.port)"
        counters = Counters()
        connections = ConnectionKeeper(configuration: configuration, tls: sslContext, group: group, logger: logger, counters: counters)
    }

    /// What the client has done so far.
    public var statistics: ClientStatistics { counters.value.withLock { $0 } }

    /// Closes the connection; calls in flight end with UNAVAILABLE.
    public func close() async {
        await connections.close()
    }

    // MARK: Calls

    public func unary(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ClientResponse {
        var headers = Metadata()
        var message: ByteBuffer?
        var trailers = Metadata()
        let (events, attempts) = try await call(method, request: request, options: options)
        for try await event in events {
            switch event {
            case .headers(let received): headers = received
            case .message(let bytes):
                attempts.messageTaken()
                guard message == nil else { throw RPCError(.internal, "the server sent more than one response message to a unary call") }
                message = bytes
            case .trailers(let received): trailers = received
            }
        }
        if Task.isCancelled { throw RPCError(.cancelled, "the call was cancelled") }
        guard let message else { throw RPCError(.internal, "the server ended a unary call without a response message") }
        return ClientResponse(message: Array(message.readableBytesView), metadata: headers, trailers: trailers)
    }

    public func serverStreaming(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ResponseStream {
        let (events, attempts) = try await call(method, request: request, options: options)
        return ResponseStream(events: events, taken: attempts.messageTaken)
    }

    /// How many times a call is sent when the server refuses its stream unprocessed.
    static let maxAttempts = 3

    /// Opens the call's stream and hands back what arrives on it.
    private func call(_ method: MethodTarget, request: [UInt8], options: CallOptions)
        async throws -> (AsyncThrowingStream<CallEvent, any Error>, CallAttempts) {
        try Task.checkCancellation()
        let compression = options.compression ?? configuration.compression
        let headers = try await requestHeaders(method, options: options, compression: compression)
        let body = try MessageFramer.frame(request, compression: compression, allocator: ByteBufferAllocator())
        let deadline = (options.timeout ?? configuration.defaultTimeout).map { (ContinuousClock.now + $0, $0) }
        let (events, continuation) = AsyncThrowingStream<CallEvent, any Error>.makeStream()
        let attempts = CallAttempts(deadline: deadline)
        continuation.onTermination = { termination in
            // The caller stopped listening (its task was cancelled): the stream is cancelled too.
            attempts.end(cancelled: { if case .cancelled = termination { true } else { false } }())
        }
        try await open(headers: headers, body: body, options: options, attempts: attempts, continuation: continuation)
        return (events, attempts)
    }

    /// One attempt: a stream on the current connection (a new one if it cannot take streams).
    /// A stream refused unprocessed is opened again, up to `maxAttempts` in all for the call.
    private func open(headers: [HeaderField], body: ByteBuffer, options: CallOptions, attempts: CallAttempts,
                      continuation: AsyncThrowingStream<CallEvent, any Error>.Continuation) async throws {
        while true {
            let number = attempts.countAttempt()
            let connection = try await connections.connection()
            let call = ClientCall(connection: connection, maxMessageSize: options.maxResponseSize ?? configuration.maxResponseMessageSize) { event in
                switch event {
                case .headers(let metadata): continuation.yield(.headers(metadata))
                case .message(let bytes): continuation.yield(.message(bytes))
                case .end(.success(let trailers)):
                    continuation.yield(.trailers(trailers))
                    continuation.finish()
                case .end(.failure(let error)): continuation.finish(throwing: error)
                }
            }
            if number < Self.maxAttempts {
                call.retryRefused = { [weak self] in
                    guard let self else { return false }
                    counters.value.withLock { $0.transparentRetries += 1 }
                    // On the same connection if it can still take streams (the keeper drops
                    // it once it cannot: a GOAWAY), else on a new one.
                    Task {
                        do {
                            try await self.open(headers: headers, body: body, options: options, attempts: attempts, continuation: continuation)
                        } catch {
                            continuation.finish(throwing: error as? RPCError ?? RPCError(.unavailable, "\(error)"))
                        }
                    }
                    return true
                }
            }
            guard attempts.begin(call, on: connection.eventLoop) else { return }
            do {
                _ = try await connection.openStream(headers, body: body, endStream: true, delegate: call).get()
                return
            } catch {
                // The connection went away between the check and the stream: once more, on a new one.
                await connections.discard(connection)
                if number < Self.maxAttempts { continue }
                throw RPCError(.unavailable, "cannot open a stream: \(error)")
            }
        }
    }

    private func requestHeaders(_ method: MethodTarget, options: CallOptions, compression: MessageEncoding) async throws -> [HeaderField] {
        var fields = [
            HeaderField(":method", "POST"), HeaderField(":scheme", scheme), HeaderField(":path", method.path),
            HeaderField(":authority", authority), HeaderField("content-type", "application/grpc"), HeaderField("te", "trailers"),
            HeaderField("user-agent", "egress-client-swift/1.0"), HeaderField("grpc-accept-encoding", "identity,gzip,deflate"),
        ]
        if compression != .identity { fields.append(HeaderField("grpc-encoding", compression.rawValue)) }
        if let timeout = options.timeout ?? configuration.defaultTimeout {
            fields.append(HeaderField("grpc-timeout", GRPCTimeout.format(timeout)))
        }
        if let tokens {
            fields.append(HeaderField("authorization", "Bearer " + (try await tokens.token(for: method))))
        }
        for (key, value) in options.metadata where !Self.reservedKeys.contains(key) && !key.hasPrefix(":") {
            switch value {
            case .string(let text): fields.append(HeaderField(key, text))
            case .binary(let bytes): fields.append(HeaderField(key, Base64.encode(bytes)))
            }
        }
        return fields
    }

    private static let reservedKeys: Set<String> = [
        "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "user-agent", "host", "connection",
    ]
}

/// What a call's stream delivers.
enum CallEvent: Sendable {
    case headers(Metadata)
    case message(ByteBuffer)
    case trailers(Metadata)
}

/// Keeps the client's one connection: opens it on demand (one attempt at a time), drops it
/// once unusable, and waits out a back-off after failed attempts, failing calls meanwhile.
actor ConnectionKeeper {
    let configuration: GRPCClientConfiguration
    let tls: NIOSSLContext?
    let group: any EventLoopGroup
    let logger: Logger
    let counters: Counters
    private var current: HTTP2ClientConnection?
    private var connecting: Task<HTTP2ClientConnection, any Error>?
    private var failures = 0
    private var retryAt: ContinuousClock.Instant?
    private var lastError = ""

    init(configuration: GRPCClientConfiguration, tls: NIOSSLContext?, group: any EventLoopGroup, logger: Logger, counters: Counters) {
        self.configuration = configuration
        self.tls = tls
        self.group = group
        self.logger = logger
        self.counters = counters
    }

    func connection() async throws -> HTTP2ClientConnection {
        if let current {
            if current.isUsable { return current }
            self.current = nil
        }
        if let connecting { return try await wait(connecting) }
        if let retryAt, retryAt > .now {
            throw RPCError(.unavailable, "cannot connect to \(configuration.host):\(configuration.port): \(lastError) (next attempt in \(retryAt - .now))")
        }
        let task = Task { [configuration, tls, group, logger] in
            try await HTTP2ClientConnection.connect(
                host: configuration.host, port: configuration.port, tls: tls, serverHostname: configuration.tls?.serverHostname ?? serverNameIndication(for: configuration.host),
                group: group, connectTimeout: .nanoseconds(Int64(clamping: configuration.connectTimeout.nanoseconds)), logger: logger)
        }
        connecting = task
        return try await wait(task)
    }

    private func wait(_ task: Task<HTTP2ClientConnection, any Error>) async throws -> HTTP2ClientConnection {
        do {
            let connection = try await task.value
            if connecting == task {
                connecting = nil
                current = connection
                failures = 0
                retryAt = nil
                counters.value.withLock { $0.connectionsOpened += 1 }
            }
            return connection
        } catch {
            if connecting == task {
                connecting = nil
                failures += 1
                counters.value.withLock { $0.connectionsFailed += 1 }
                lastError = "\(error)"
                retryAt = .now + configuration.backoff.delay(afterFailures: failures)
                logger.debug("connecting failed", metadata: ["error": "\(error)", "failures": "\(failures)"])
            }
            throw RPCError(.unavailable, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
    }

    /// Forgets `connection` if it can take no more streams (it closes itself once its streams
    /// are done); a usable one is kept, as other calls may be on it.
    func discard(_ connection: HTTP2ClientConnection) {
        if current === connection, !connection.isUsable { current = nil }
    }

    func close() async {
        let connection = current
        current = nil
        connecting?.cancel()
        await connection?.close()
    }
}

/// Counts of what a client did.
public struct ClientStatistics: Sendable, Equatable {
    /// Connections established (the first, and each after one was lost).
    public var connectionsOpened = 0
    /// Connection attempts that failed.
    public var connectionsFailed = 0
    /// Calls sent again because the server refused their stream unprocessed.
    public var transparentRetries = 0
}

/// One call across its attempts: the current attempt (what a deadline, a cancellation or the
/// reader's progress is for) and the call's one deadline, which each attempt keeps.
final class CallAttempts: Sendable {
    private struct Current {
        var call: ClientCall?
        var loop: (any EventLoop)?
        var deadlineTask: Scheduled<Void>?
        var ended = false
    }

    private let deadline: (at: ContinuousClock.Instant, timeout: Duration)?
    private let current = Mutex(Current())
    private let attempts = Mutex(0)

    init(deadline: (at: ContinuousClock.Instant, timeout: Duration)?) {
        self.deadline = deadline
    }

    /// Counts one more attempt at the call; returns its number (the first is 1).
    func countAttempt() -> Int {
        attempts.withLock { count in
            count += 1
            return count
        }
    }

    /// Makes `call` the current attempt, with what is left of the deadline; false when the call
    /// has ended meanwhile (cancelled), and then the attempt is not made.
    func begin(_ call: ClientCall, on loop: any EventLoop) -> Bool {
        current.withLock { current in
            guard !current.ended else { return false }
            current.deadlineTask?.cancel()
            current.call = call
            current.loop = loop
            if let deadline {
                let left = max(.zero, deadline.at - .now)
                current.deadlineTask = loop.scheduleTask(in: .nanoseconds(Int64(clamping: left.nanoseconds))) {
                    call.fail(RPCError(.deadlineExceeded, "deadline exceeded after \(deadline.timeout)"))
                }
            }
            return true
        }
    }

    /// The reader took a message of the current attempt.
    @Sendable func messageTaken() {
        let (call, loop) = current.withLock { ($0.call, $0.loop) }
        guard let call, let loop else { return }
        loop.execute { call.messageTaken() }
    }

    /// The caller's stream ended: no more attempts; when it was cancelled, the stream is too.
    func end(cancelled: Bool) {
        let (call, loop) = current.withLock { current in
            current.ended = true
            current.deadlineTask?.cancel()
            return (current.call, current.loop)
        }
        if cancelled, let call, let loop {
            loop.execute { call.fail(RPCError(.cancelled, "the call was cancelled")) }
        }
    }
}

final class Counters: Sendable {
    let value = Mutex(ClientStatistics())
}
