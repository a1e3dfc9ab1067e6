import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// One client WebSocket (RFC 6455, through SwiftNIO's NIOWebSocket: the handshake, framing and
/// masking are the library's). Made for a thread that is not an event loop (a recording's):
/// `connect` blocks until the upgrade is done, sends never block. Bytes handed over and not yet
/// written to the socket are bounded: a server that stops reading gets the connection closed,
/// not an ever-growing buffer. Pings are answered; the server's close is answered and noted.
public final class WebSocketClient: Sendable {
    private let channel: any Channel
    private let shared: Shared
    /// Bytes handed over and not yet written, past which the server counts as not reading.
    public let maxPendingBytes: Int

    /// What the event loop and the sending thread both see.
    final class Shared: Sendable {
        private let state = Mutex<(pending: Int, closed: String?)>((0, nil))

        func noteClosed(_ reason: String) {
            state.withLock { if $0.closed == nil { $0.closed = reason } }
        }

        var closed: String? { state.withLock { $0.closed } }

        /// Counts `bytes` as pending unless closed or over `limit`; why not, if refused.
        func reserve(_ bytes: Int, limit: Int) -> String? {
            state.withLock { state in
                if let closed = state.closed { return closed }
                guard state.pending + bytes <= limit else { return "the WebSocket server is not reading (\(state.pending) bytes waiting)" }
                state.pending += bytes
                return nil
            }
        }

        func written(_ bytes: Int) {
            state.withLock { $0.pending -= bytes }
        }
    }

    private init(channel: any Channel, shared: Shared, maxPendingBytes: Int) {
        self.channel = channel
        self.shared = shared
        self.maxPendingBytes = maxPendingBytes
    }

    /// Connects and upgrades (blocking the calling thread, never an event loop's); wss
    /// verifies the server's certificate against the system's roots.
    public static func connect(to url: HTTPURL, headers: [(String, String)] = [], timeout: Duration = .seconds(10),
                               maxPendingBytes: Int = 1 << 20,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(WebSocketError) -> WebSocketClient {
        let outcome = Mutex<Result<WebSocketClient, WebSocketError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<WebSocketClient, WebSocketError>
            do {
                result = .success(try await open(url, headers: headers, timeout: timeout, maxPendingBytes: maxPendingBytes, group: group))
            } catch let error as WebSocketError {
                result = .failure(error)
            } catch {
                result = .failure(WebSocketError("cannot connect to \(url.hostHeader): \(error)"))
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        let waited = done.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000) + 1000))
        guard waited == .success, let result = outcome.withLock({ $0 }) else {
            throw WebSocketError("no WebSocket handshake with \(url.hostHeader) within \(timeout)")
        }
        return try result.get()
    }

    private static func open(_ url: HTTPURL, headers: [(String, String)], timeout: Duration, maxPendingBytes: Int,
                             group: any EventLoopGroup) async throws -> WebSocketClient {
        let shared = Shared()
        let tls = url.isTLS ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let upgraded = try await ClientBootstrap(group: group)
            .connectTimeout(.init(timeout))
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverNameIndication(for: url.host)))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<(any Channel)?>(maxFrameSize: 1 << 16) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(FrameHandler(shared: shared))
                            return channel
                        }
                    }
                    var fields = HTTPHeaders(headers)
                    fields.replaceOrAdd(name: "host", value: url.hostHeader)
                    fields.replaceOrAdd(name: "content-length", value: "0")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: fields)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<(any Channel)?>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(nil) })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
        guard let channel = try await upgraded.get() else {
            throw WebSocketError("\(url.hostHeader) refused the WebSocket upgrade")
        }
        return WebSocketClient(channel: channel, shared: shared, maxPendingBytes: maxPendingBytes)
    }

    /// Why the connection is closed (by the server, an error, or `close`), nil while open.
    public var closedReason: String? { shared.closed }

    /// Queues one binary message.
    public func send(binary bytes: [UInt8]) throws(WebSocketError) {
        try send(.binary, ByteBuffer(bytes: bytes))
    }

    /// Queues one text message.
    public func send(text: String) throws(WebSocketError) {
        try send(.text, ByteBuffer(string: text))
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer) throws(WebSocketError) {
        let size = data.readableBytes
        if let refused = shared.reserve(size, limit: maxPendingBytes) {
            if shared.closed == nil {
                shared.noteClosed(refused)
                channel.close(promise: nil)
            }
            throw WebSocketError(refused)
        }
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
        let shared = shared
        channel.writeAndFlush(frame).whenComplete { _ in shared.written(size) }
    }

    /// Sends a close frame (normal closure) and closes the connection, waiting for what is
    /// queued to be written (at most `timeout`).
    public func close(timeout: Duration = .seconds(2)) {
        shared.noteClosed("closed by this side")
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
        let channel = channel
        _ = try? channel.writeAndFlush(frame).flatMap { channel.close() }.wait(timeout: timeout)
        channel.close(promise: nil)
    }
}

/// The server's side of the conversation: pings answered, a close answered and noted.
private final class FrameHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    private let shared: WebSocketClient.Shared

    init(shared: WebSocketClient.Shared) {
        self.shared = shared
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode().map { " (\($0))" } ?? ""
            shared.noteClosed("the WebSocket server closed the connection\(code)")
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: ByteBuffer())
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            context.close(promise: nil)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break  // what the server sends otherwise is not for this client
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        shared.noteClosed("the WebSocket connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.noteClosed("the WebSocket connection failed: \(error)")
        context.close(promise: nil)
    }
}

/// A WebSocket that could not be opened, or is closed.
public struct WebSocketError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

private extension EventLoopFuture where Value: Sendable {
    /// Waits (off an event loop) at most `timeout`.
    func wait(timeout: Duration) throws -> Value? {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Value, any Error>?>(nil)
        whenComplete { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        guard done.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000))) == .success else { return nil }
        return try result.withLock { $0 }?.get()
    }
}
