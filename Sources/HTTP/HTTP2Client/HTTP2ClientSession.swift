import CNGHTTP2
import Logging
import NIOCore

/// How a client stream ended.
public enum HTTP2StreamEnd: Sendable, Equatable {
    /// The response ended (END_STREAM), the request too.
    case finished
    /// The peer reset the stream, or refused it (REFUSED_STREAM, or above a GOAWAY's last stream).
    case reset(HTTP2ErrorCode)
    /// The connection went away first.
    case connectionClosed(String)
}

/// What one client stream hears of its response. Called on the connection's event loop.
///
/// The delegate owns the stream's flow control: every byte of DATA it hears must be handed back
/// with `HTTP2ClientConnection.consume` (at once, or once its reader has taken what the bytes
/// carried), or the server stops sending on the stream and, in the end, on the connection.
public protocol HTTP2ClientStreamDelegate: AnyObject {
    /// The stream's id, as soon as it is known: before anything of its response arrives.
    func opened(_ stream: Int32)
    /// The response head; with `endStream` it is all there is (gRPC's Trailers-Only).
    func receivedHead(_ headers: [HeaderField], endStream: Bool)
    func receivedData(_ data: ByteBuffer)
    func receivedTrailers(_ trailers: [HeaderField])
    func streamEnded(_ end: HTTP2StreamEnd)
}

/// One nghttp2 client session: requests go out as streams, responses come back to each
/// stream's delegate. Confined to its connection's event loop (nghttp2 is not thread-safe).
final class HTTP2ClientSession {
    private var raw: OpaquePointer!
    let logger: Logger
    let maxHeaderListSize: Int
    private var streams: [Int32: Stream] = [:]
    /// The peer's GOAWAY: no new stream may be opened.
    private(set) var goAwayReceived = false
    /// Why this side ended the session (the GOAWAY nghttp2 sent on a protocol error), if it did.
    private(set) var terminationReason: String?
    /// Told when nghttp2 has frames to send.
    var outputPending: () -> Void = {}

    private struct Stream {
        let delegate: any HTTP2ClientStreamDelegate
        /// Request bytes not yet taken by nghttp2.
        var pending: ByteBuffer
        var requestEnded: Bool
        var headers: [HeaderField] = []
        var headerBytes = 0
        var headReceived = false
    }

    /// - Parameters:
    ///   - streamWindow: how much of one response may arrive before its delegate hands bytes back.
    ///   - connectionWindow: the same for all streams together; larger, so that one stalled
    ///     stream does not stop the others.
    init(logger: Logger, maxHeaderListSize: Int = 16 * 1024, streamWindow: Int32 = 1024 * 1024,
         connectionWindow: Int32 = 8 * 1024 * 1024) throws(HTTP2Error) {
        self.logger = logger
        self.maxHeaderListSize = maxHeaderListSize
        var callbacks: OpaquePointer?
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(on: callbacks)
        var options: OpaquePointer?
        try check(nghttp2_option_new(&options), "nghttp2_option_new")
        defer { nghttp2_option_del(options) }
        // Window updates follow what the delegates hand back (`consume`), not what arrived.
        nghttp2_option_set_no_auto_window_update(options, 1)
        var session: OpaquePointer?
        try check(nghttp2_session_client_new2(&session, callbacks, Unmanaged.passUnretained(self).toOpaque(), options),
                  "nghttp2_session_client_new2")
        raw = session
        let settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(streamWindow)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(maxHeaderListSize)),
        ]
        try check(nghttp2_submit_settings(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count), "nghttp2_submit_settings")
        try check(nghttp2_session_set_local_window_size(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow),
                  "nghttp2_session_set_local_window_size")
    }

    deinit {
        nghttp2_session_del(raw)
    }

    // MARK: Streams

    /// Opens a stream with `headers` and the first of its body; with `endStream` the request is
    /// complete. Returns the stream's id.
    func submitRequest(_ headers: [HeaderField], body: ByteBuffer, endStream: Bool,
                       delegate: any HTTP2ClientStreamDelegate) throws(HTTP2Error) -> Int32 {
        guard !goAwayReceived else { throw HTTP2Error(Int(NGHTTP2_ERR_START_STREAM_NOT_ALLOWED.rawValue), "the server sent GOAWAY") }
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readData)
        let id = headers.withNameValues { nva, count in nghttp2_submit_request(raw, nil, nva, count, &provider, nil) }
        guard id > 0 else { throw HTTP2Error(Int(id), "nghttp2_submit_request") }
        streams[id] = Stream(delegate: delegate, pending: body, requestEnded: endStream)
        delegate.opened(id)
        outputPending()
        return id
    }

    /// `count` bytes of a stream's DATA were taken by its reader: the server may send as many
    /// more (WINDOW_UPDATE, batched by nghttp2). For a stream that has closed, the connection's
    /// window alone.
    func consume(_ id: Int32, _ count: Int) {
        guard count > 0 else { return }
        // nghttp2 counts the bytes for the connection, and for the stream if it is still open.
        let rv = nghttp2_session_consume(raw, id, count)
        if rv != 0 { logger.debug("nghttp2_session_consume failed", metadata: ["rv": "\(rv)"]) }
        outputPending()
    }

    /// More of a stream's request body; with `endStream` its last.
    func send(_ data: ByteBuffer, on id: Int32, endStream: Bool) {
        guard var stream = streams[id], !stream.requestEnded else { return }
        var data = data
        stream.pending.writeBuffer(&data)
        stream.requestEnded = endStream
        streams[id] = stream
        nghttp2_session_resume_data(raw, id)
        outputPending()
    }

    /// Cancels a stream (RST_STREAM); its delegate hears no more.
    func reset(_ id: Int32, code: HTTP2ErrorCode) {
        guard streams.removeValue(forKey: id) != nil else { return }
        nghttp2_submit_rst_stream(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, code.rawValue)
        outputPending()
    }

    var openStreams: Int { streams.count }

    // MARK: Bytes in and out

    func receive(_ buffer: ByteBuffer) throws(HTTP2Error) {
        let consumed = NGHTTP2Bytes.receive(buffer, into: raw)
        if consumed < 0 { throw HTTP2Error(consumed, "nghttp2_session_mem_recv") }
    }

    func drainOutput(into buffer: inout ByteBuffer, limit: Int) throws(HTTP2Error) {
        try NGHTTP2Bytes.drain(raw, into: &buffer, limit: limit)
    }

    var wantsWrite: Bool { nghttp2_session_want_write(raw) != 0 }

    /// Whether the session is still of use (not ended by a GOAWAY or a connection error, such as
    /// bytes that are not HTTP/2).
    var isAlive: Bool { NGHTTP2Bytes.isAlive(raw) }

    /// The socket is gone: every open stream hears so.
    func connectionClosed(_ reason: String) {
        let open = streams
        streams = [:]
        for stream in open.values { stream.delegate.streamEnded(.connectionClosed(reason)) }
    }

    /// Ends the session politely: GOAWAY, then the connection may close.
    func terminate() {
        nghttp2_session_terminate_session(raw, HTTP2ErrorCode.noError.rawValue)
        outputPending()
    }

    private func check(_ rv: Int32, _ operation: String) throws(HTTP2Error) {
        if rv != 0 { throw HTTP2Error(Int(rv), operation) }
    }

    // MARK: What the callbacks do

    fileprivate func header(_ id: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard var stream = streams[id] else { return 0 }
        stream.headerBytes += name.count + value.count + 32
        guard stream.headerBytes <= maxHeaderListSize else {
            streams[id] = stream
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue  // the stream is reset
        }
        stream.headers.append(HeaderField(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        streams[id] = stream
        return 0
    }

    fileprivate func headersComplete(_ id: Int32, endStream: Bool) {
        guard var stream = streams[id] else { return }
        let headers = stream.headers
        stream.headers = []
        stream.headerBytes = 0
        let isHead = !stream.headReceived
        // An informational head (1xx) is not the response.
        if isHead, headers.first(where: { $0.name == ":status" })?.value.hasPrefix("1") == true {
            streams[id] = stream
            return
        }
        stream.headReceived = true
        streams[id] = stream
        if isHead {
            stream.delegate.receivedHead(headers, endStream: endStream)
        } else {
            stream.delegate.receivedTrailers(headers)
        }
    }

    fileprivate func data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let delegate = streams[id]?.delegate else {
            // A stream this side has given up on: nobody will read the bytes.
            consume(id, bytes.count)
            return
        }
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        delegate.receivedData(buffer)
    }

    fileprivate func closed(_ id: Int32, code: UInt32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        let end: HTTP2StreamEnd = code == HTTP2ErrorCode.noError.rawValue ? .finished : .reset(HTTP2ErrorCode(rawValue: code))
        stream.delegate.streamEnded(end)
    }

    fileprivate func goAway(lastStreamID: Int32, code: UInt32) {
        goAwayReceived = true
        logger.debug("the server sent GOAWAY", metadata: ["last_stream": "\(lastStreamID)", "code": "\(code)"])
    }

    fileprivate func readData(_ id: Int32, into target: UnsafeMutableRawBufferPointer, flags: inout UInt32) -> Int {
        guard var stream = streams[id] else {
            flags |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let count = min(target.count, stream.pending.readableBytes)
        if count > 0 {
            stream.pending.withUnsafeReadableBytes { source in
                target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: count)
            }
            stream.pending.moveReaderIndex(forwardBy: count)
        }
        if stream.pending.readableBytes == 0 {
            if stream.requestEnded {
                flags |= NGHTTP2_DATA_FLAG_EOF.rawValue
            } else if count == 0 {
                streams[id] = stream
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
            stream.pending.clear()
        }
        streams[id] = stream
        return count
    }
}

// MARK: The nghttp2 callbacks

extension HTTP2ClientSession {
    private static func session(_ userData: UnsafeMutableRawPointer?) -> HTTP2ClientSession {
        Unmanaged<HTTP2ClientSession>.fromOpaque(userData!).takeUnretainedValue()
    }

    static func install(on callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)
    }

    /// A GOAWAY this side sends says why the session ends.
    private static let onFrameSent: nghttp2_on_frame_send_callback = { _, frame, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) else { return 0 }
        let goaway = frame.pointee.goaway
        let detail = goaway.opaque_data_len > 0 && goaway.opaque_data != nil
            ? ": " + String(decoding: UnsafeBufferPointer(start: goaway.opaque_data, count: goaway.opaque_data_len), as: UTF8.self) : ""
        session(userData).terminationReason = "\(HTTP2ErrorCode(rawValue: goaway.error_code))\(detail)"
        return 0
    }

    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        return session(userData).header(frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: nameLength),
                                        value: UnsafeBufferPointer(start: value, count: valueLength))
    }

    private static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        let header = frame.pointee.hd
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            session(userData).headersComplete(header.stream_id, endStream: endStream)
        case NGHTTP2_GOAWAY.rawValue:
            session(userData).goAway(lastStreamID: frame.pointee.goaway.last_stream_id, code: frame.pointee.goaway.error_code)
        default:
            break
        }
        return 0
    }

    private static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        session(userData).data(streamID, UnsafeRawBufferPointer(start: data, count: length))
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
        session(userData).closed(streamID, code: errorCode)
        return 0
    }

    static let readData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        session(userData).readData(streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: &flags!.pointee)
    }
}
