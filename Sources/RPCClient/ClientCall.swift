import GRPCWire
import HTTP
import NIOCore
import Support

/// One attempt at a gRPC call, as the connection's event loop hears its stream: checks the
/// response head, deframes (and inflates) its messages up to the size limit, and ends the call
/// with the status in its trailers, or with the status that explains what went wrong instead.
///
/// Flow control: the bytes of a response are handed back to the connection while no message is
/// waiting for the reader; once one is, they are held until the reader has taken every waiting
/// message. A reader that stops reading so stops the server after at most the stream's window,
/// instead of the client buffering without end.
///
/// Touched on the event loop only; `finish` runs once.
final class ClientCall: HTTP2ClientStreamDelegate, @unchecked Sendable {
    /// What the call delivers: each response message, then its end.
    enum Event {
        case headers(Metadata)
        case message(ByteBuffer)
        case end(Result<Metadata, RPCError>)
    }

    private let connection: HTTP2ClientConnection
    private let maxMessageSize: Int
    private let deliver: (Event) -> Void
    /// Asked when the server refused the stream before processing it (REFUSED_STREAM, or a
    /// GOAWAY below it): true when the call is tried again elsewhere, and this attempt ends
    /// without a word.
    var retryRefused: () -> Bool = { false }
    private var stream: Int32 = 0
    private var deframer: MessageDeframer
    private var encoding = MessageEncoding.identity
    private var headReceived = false
    private var ended = false
    /// Messages delivered that the reader has not taken yet.
    private var waiting = 0
    /// DATA bytes not handed back to the connection yet.
    private var unacknowledged = 0

    init(connection: HTTP2ClientConnection, maxMessageSize: Int, deliver: @escaping (Event) -> Void) {
        self.connection = connection
        self.maxMessageSize = maxMessageSize
        self.deliver = deliver
        deframer = MessageDeframer(maxMessageSize: maxMessageSize)
    }

    /// The reader took a message: once it has taken all, the bytes held go back to the server.
    func messageTaken() {
        waiting = max(0, waiting - 1)
        acknowledgeIfNothingWaits()
    }

    private func acknowledgeIfNothingWaits() {
        guard waiting == 0 || ended, unacknowledged > 0 else { return }
        connection.consume(unacknowledged, on: stream)
        unacknowledged = 0
    }

    // MARK: HTTP2ClientStreamDelegate

    func opened(_ stream: Int32) {
        self.stream = stream
    }

    func receivedHead(_ headers: [HeaderField], endStream: Bool) {
        guard !ended else { return }
        headReceived = true
        let status = headers.first { $0.name == ":status" }?.value ?? ""
        guard status == "200" else {
            return fail(Self.statusForHTTP(status, headers))
        }
        let contentType = headers.first { $0.name == "content-type" }?.value ?? ""
        guard contentType.hasPrefix("application/grpc") else {
            return fail(RPCError(.internal, "the response's content-type '\(contentType)' is not application/grpc"))
        }
        if endStream {
            // Trailers-Only: the status is in this one block.
            return finish(Self.status(from: headers))
        }
        if let name = headers.first(where: { $0.name == "grpc-encoding" })?.value {
            guard let encoding = MessageEncoding(rawValue: name) else {
                return fail(RPCError(.internal, "the response's grpc-encoding '\(name)' is not one this client accepts"))
            }
            self.encoding = encoding
        }
        deliver(.headers(Self.metadata(headers)))
    }

    func receivedData(_ data: ByteBuffer) {
        unacknowledged += data.readableBytes
        defer { acknowledgeIfNothingWaits() }
        guard !ended else { return }
        guard headReceived else { return fail(RPCError(.internal, "the server sent data before its response headers")) }
        deframer.append(data)
        do throws(RPCError) {
            while let (compressed, payload) = try deframer.next() {
                var message = payload
                if compressed {
                    guard encoding != .identity else {
                        throw RPCError(.internal, "a response message is flagged compressed but grpc-encoding is identity")
                    }
                    message = try encoding.decompress(payload, limit: maxMessageSize, allocator: ByteBufferAllocator())
                }
                waiting += 1
                deliver(.message(message))
            }
        } catch {
            fail(error)
        }
    }

    func receivedTrailers(_ trailers: [HeaderField]) {
        guard !ended else { return }
        guard !deframer.hasPartialMessage else {
            return fail(RPCError(.internal, "the response ended inside a message"))
        }
        finish(Self.status(from: trailers))
    }

    func streamEnded(_ end: HTTP2StreamEnd) {
        guard !ended else { return }
        switch end {
        case .finished:
            finish(.failure(RPCError(.internal, "the server ended the stream without a grpc-status")))
        case .reset(let code) where code == .refusedStream:
            if !headReceived, retryRefused() {
                ended = true
                acknowledgeIfNothingWaits()
                return
            }
            finish(.failure(RPCError(.unavailable, "the server refused the stream before processing it")))
        case .reset(let code) where code == .cancel:
            finish(.failure(RPCError(.cancelled, "the server cancelled the call")))
        case .reset(let code):
            finish(.failure(RPCError(.internal, "the server reset the stream: \(code)")))
        case .connectionClosed(let reason):
            finish(.failure(RPCError(.unavailable, "the connection closed during the call: \(reason)")))
        }
    }

    // MARK: Ending

    /// Ends the call from this side (deadline, cancellation, a bad response).
    func fail(_ error: RPCError) {
        guard !ended else { return }
        if stream != 0 { connection.reset(stream) }
        finish(.failure(error))
    }

    /// The stream is over: what it still holds goes back to the connection (the messages
    /// already delivered stay with the reader).
    private func finish(_ result: Result<Metadata, RPCError>) {
        guard !ended else { return }
        ended = true
        acknowledgeIfNothingWaits()
        deliver(.end(result))
    }

    // MARK: Reading headers

    /// `grpc-status` and `grpc-message` of a trailer block: OK with the trailers as metadata, or the error.
    static func status(from fields: [HeaderField]) -> Result<Metadata, RPCError> {
        guard let value = fields.first(where: { $0.name == "grpc-status" })?.value else {
            return .failure(RPCError(.internal, "the response has no grpc-status"))
        }
        guard let number = Int(value), let code = StatusCode(rawValue: number) else {
            return .failure(RPCError(.unknown, "the response's grpc-status '\(value)' is not a status code"))
        }
        let trailers = metadata(fields)
        guard code != .ok else { return .success(trailers) }
        let message = fields.first { $0.name == "grpc-message" }.map { PercentEncoding.decode($0.value) } ?? ""
        return .failure(RPCError(code, message, metadata: trailers))
    }

    /// A response that is not gRPC's: the status gRPC's spec gives its HTTP status.
    static func statusForHTTP(_ status: String, _ headers: [HeaderField]) -> RPCError {
        let code: StatusCode = switch status {
        case "400": .internal
        case "401": .unauthenticated
        case "403": .permissionDenied
        case "404": .unimplemented
        case "429", "502", "503", "504": .unavailable
        default: .unknown
        }
        let detail = headers.first { $0.name == "grpc-message" }.map { ": " + PercentEncoding.decode($0.value) } ?? ""
        return RPCError(code, "the server answered HTTP \(status.isEmpty ? "without a status" : status)\(detail)")
    }

    /// The custom metadata of a header block (not the transport's or gRPC's own fields).
    static func metadata(_ fields: [HeaderField]) -> Metadata {
        var metadata = Metadata()
        for field in fields where !field.name.hasPrefix(":") && !reserved.contains(field.name) {
            if field.name.hasSuffix("-bin") {
                if let bytes = Base64.decode(field.value) { metadata.add(field.name, binary: bytes) }
            } else {
                metadata.add(field.name, field.value)
            }
        }
        return metadata
    }

    private static let reserved: Set<String> = [
        "content-type", "grpc-status", "grpc-message", "grpc-encoding", "grpc-accept-encoding", "content-length", "date", "server",
    ]
}
