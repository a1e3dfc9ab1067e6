import CNGHTTP2
import Logging
import NIOCore

/// One nghttp2 server session: owns the `nghttp2_session`, is fed the bytes read from the
/// connection and yields the bytes to write. Confined to its connection's event loop.
final class HTTP2Session {
    /// What the session needs from its connection.
    struct Delegate {
        /// Output is waiting: the connection should drain and write it.
        var outputPending: () -> Void
        /// Response bytes have begun to wait for the client: the connection should check, after
        /// `sendTimeout`, that the client took some.
        var responsesWaiting: () -> Void
    }

    let configuration: HTTP2Configuration
    /// The connection's event loop, as the executor its streams' handlers prefer.
    let executor: EventLoopTaskExecutor
    var eventLoop: any EventLoop { executor.eventLoop }
    let logger: Logger
    private let makeHandler: HTTP2StreamHandlerFactory
    private var delegate: Delegate?
    private var raw: OpaquePointer!
    var streams: [Int32: StreamEntry] = [:]
    var floodGuard: FloodGuard
    private var isTerminated = false
    /// Response bytes queued in streams and not yet taken by nghttp2.
    private(set) var bufferedResponseBytes = 0
    /// Work waiting for `bufferedResponseBytes` to fall under the budget.
    private var roomWaiters: [() -> Void] = []
    /// Request bytes received while over a budget, by stream: acknowledged once under both.
    private var unacknowledged: [Int32: Int] = [:]
    /// Request bytes handed to each stream's handler and not yet taken from it
    /// (`requestBytesTaken`), and their sum: bounded by `connectionRequestBudget`.
    private var heldRequestBytes: [Int32: Int] = [:]
    private var heldRequestTotal = 0
    /// When the client last made progress on the answers waiting for it — took 16 KiB of them,
    /// or all of them — or when they began to wait: a connection without progress for
    /// `sendTimeout` is closed. (A window opened a byte at a time is not progress.)
    private(set) var lastResponseProgress = NIODeadline.now()
    private var takenSinceProgress = 0
    private static let meaningfulProgress = 16 * 1024
    private var roomCheckScheduled = false
    let allocator = ByteBufferAllocator()

    /// A stream's request side, its handler, and the handle the handler answers through.
    struct StreamEntry {
        var head = HTTP2RequestHead()
        var headerBytes = 0
        var handler: (any HTTP2StreamHandler)?
        let stream: HTTP2Stream
    }

    init(configuration: HTTP2Configuration, executor: EventLoopTaskExecutor, logger: Logger, makeHandler: @escaping HTTP2StreamHandlerFactory) throws {
        self.configuration = configuration
        self.executor = executor
        self.logger = logger
        self.makeHandler = makeHandler
        floodGuard = FloodGuard(configuration, now: .now)

        var callbacks: OpaquePointer?
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(on: callbacks)

        var option: OpaquePointer?
        try check(nghttp2_option_new(&option), "nghttp2_option_new")
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_max_continuations(option, configuration.maxContinuations)
        // Request data is acknowledged (WINDOW_UPDATE) by `dataReceived`, not as it arrives: a
        // connection over its response budget takes no more of it until the client reads.
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_outbound_ack(option, configuration.maxOutboundAcks)
        // nghttp2 skips the frames of types it does not know without telling its callbacks;
        // taking every such type as an extension makes each one reach `onBeginFrame`, and so
        // the flood limit (its payload is then dropped by `unpackExtension`).
        for type in UInt8(NGHTTP2_CONTINUATION.rawValue + 1)...UInt8.max {
            nghttp2_option_set_user_recv_extension_type(option, type)
        }
        // nghttp2's own RST_STREAM bucket answers INTERNAL_ERROR; the flood guard's, at half its
        // size, answers ENHANCE_YOUR_CALM first and leaves nghttp2's as a backstop.
        nghttp2_option_set_stream_reset_rate_limit(
            option, UInt64(configuration.resetLimit.burst * 2), UInt64(configuration.resetLimit.perSecond * 2))

        var session: OpaquePointer?
        try check(nghttp2_session_server_new2(&session, callbacks, Unmanaged.passUnretained(self).toOpaque(), option),
                  "nghttp2_session_server_new2")
        raw = session
    }

    deinit {
        nghttp2_session_del(raw)
    }

    /// Queues the server's SETTINGS (the server connection preface) and widens the connection window.
    func start(delegate: Delegate) throws {
        self.delegate = delegate
        let settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: configuration.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: configuration.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: UInt32(configuration.maxHeaderListSize)),
        ]
        try check(nghttp2_submit_settings(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count),
                  "nghttp2_submit_settings")
        if configuration.connectionWindowSize > 65_535 {
            try check(nghttp2_session_set_local_window_size(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                                            configuration.connectionWindowSize),
                      "nghttp2_session_set_local_window_size")
        }
    }

    // MARK: Bytes in and out

    /// Feeds bytes read from the socket. A thrown error means the connection is beyond saving;
    /// any GOAWAY that explains why is queued for `drainOutput`.
    func receive(_ buffer: ByteBuffer) throws(HTTP2Error) {
        let consumed = NGHTTP2Bytes.receive(buffer, into: raw)
        if consumed < 0 {
            let error = HTTP2Error(consumed, "nghttp2_session_mem_recv")
            switch Int32(consumed) {
            case NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue:
                terminate(.protocolError, reason: "the client did not send the HTTP/2 connection preface")
            case NGHTTP2_ERR_FLOODED.rawValue:
                terminate(.enhanceYourCalm, reason: "the client sends frames whose answers it does not read")
            case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue:
                terminate(.enhanceYourCalm, reason: "too many CONTINUATION frames after one HEADERS frame")
            default:
                terminate(.protocolError, reason: error.description)
            }
            throw error
        }
    }

    /// Appends the frames nghttp2 has ready to `buffer`, up to about `limit` bytes.
    func drainOutput(into buffer: inout ByteBuffer, limit: Int) throws(HTTP2Error) {
        try NGHTTP2Bytes.drain(raw, into: &buffer, limit: limit)
    }

    /// Whether nghttp2 still has frames to send.
    var wantsWrite: Bool { nghttp2_session_want_write(raw) != 0 }

    /// Whether the connection is still of use: false once GOAWAY has been exchanged and no stream is left.
    var isAlive: Bool { NGHTTP2Bytes.isAlive(raw) }

    // MARK: Shutdown

    /// Ends the session with GOAWAY(`code`): no new streams, and the connection closes once sent.
    func terminate(_ code: HTTP2ErrorCode, reason: String) {
        guard !isTerminated else { return }
        isTerminated = true
        logger.notice("closing the connection", metadata: ["goaway": "\(code)", "reason": "\(reason)"])
        nghttp2_session_terminate_session(raw, code.rawValue)
        delegate?.outputPending()
    }

    /// First step of a graceful shutdown: GOAWAY with the highest stream id, so that clients stop
    /// opening streams while requests already on the way are still taken.
    func announceShutdown() {
        nghttp2_submit_shutdown_notice(raw)
        delegate?.outputPending()
    }

    /// Second step: GOAWAY naming the last stream that will be processed; open streams finish.
    func finalGoAway() {
        nghttp2_submit_goaway(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(raw),
                              NGHTTP2_NO_ERROR.rawValue, nil, 0)
        delegate?.outputPending()
    }

    /// The connection has no more use for the session's output.
    func detachDelegate() {
        delegate = nil
    }

    /// The connection is gone: every open stream is told, so that its work is cancelled.
    func connectionClosed() {
        let open = streams
        streams = [:]
        let waiters = roomWaiters
        roomWaiters = []
        heldRequestBytes = [:]
        heldRequestTotal = 0
        for entry in open.values {
            entry.stream.isClosed = true
            entry.stream.pending = nil
            entry.stream.notifyClosed()
            entry.handler?.streamClosed(error: .cancel)
        }
        // Each checks that its stream is closed and does nothing more.
        waiters.forEach { $0() }
    }

    // MARK: Response budget

    /// Runs `body` once the connection's unsent response bytes are under the budget: at once
    /// when they are, else in order as the client reads.
    var hasRoomForResponses: Bool {
        bufferedResponseBytes < configuration.connectionResponseBudget && roomWaiters.isEmpty
    }

    func whenRoomForResponses(_ body: @escaping () -> Void) {
        if hasRoomForResponses {
            body()
        } else {
            roomWaiters.append(body)
        }
    }

    func responseBytesQueued(_ count: Int) {
        if bufferedResponseBytes == 0, count > 0 {
            lastResponseProgress = .now()
            takenSinceProgress = 0
            delegate?.responsesWaiting()
        }
        bufferedResponseBytes += count
    }

    func responseBytesDone(_ count: Int) {
        bufferedResponseBytes -= count
        takenSinceProgress += count
        if takenSinceProgress >= Self.meaningfulProgress || (bufferedResponseBytes == 0 && count > 0) {
            lastResponseProgress = .now()
            takenSinceProgress = 0
        }
        guard !roomWaiters.isEmpty || !unacknowledged.isEmpty, bufferedResponseBytes < configuration.connectionResponseBudget,
              !roomCheckScheduled else { return }
        // Not from inside nghttp2's callbacks: on the next turn of the loop.
        roomCheckScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { loopBound.value.admitWaiters() }
    }

    private func admitWaiters() {
        roomCheckScheduled = false
        while !roomWaiters.isEmpty, bufferedResponseBytes < configuration.connectionResponseBudget {
            roomWaiters.removeFirst()()
        }
        acknowledgeHeld()
    }

    /// `count` bytes of a stream's request body were handed to its handler: acknowledged now
    /// (a WINDOW_UPDATE in due course) while the connection is under its response budget,
    /// else once it is.
    func dataReceived(_ streamID: Int32, _ count: Int, held: Bool) {
        if held {
            heldRequestBytes[streamID, default: 0] += count
            heldRequestTotal += count
        }
        if mayAcknowledge {
            acknowledge(streamID, count)
        } else {
            unacknowledged[streamID, default: 0] += count
        }
    }

    /// Whether request data is acknowledged as it comes: while the connection is under both its
    /// response and its request budgets.
    private var mayAcknowledge: Bool {
        hasRoomForResponses && heldRequestTotal <= configuration.connectionRequestBudget
    }

    /// A stream's handler took the request bytes it was given (or the stream is gone).
    func requestBytesTaken(_ streamID: Int32) {
        guard let held = heldRequestBytes.removeValue(forKey: streamID) else { return }
        heldRequestTotal -= held
        acknowledgeHeld()
    }

    /// Acknowledges what was held back, once the connection is under its budgets again.
    private func acknowledgeHeld() {
        guard mayAcknowledge, !unacknowledged.isEmpty else { return }
        let held = unacknowledged
        unacknowledged = [:]
        for (streamID, count) in held { acknowledge(streamID, count) }
        delegate?.outputPending()
    }

    private func acknowledge(_ streamID: Int32, _ count: Int) {
        // For a stream that is gone, only the connection's window is updated.
        let rv = nghttp2_session_consume(raw, streamID, count)
        if rv != 0 { logger.debug("could not acknowledge request data", metadata: ["error": "\(HTTP2Error(rv, "nghttp2_session_consume"))"]) }
    }

    // MARK: Responses (called by HTTP2Stream on the event loop)

    func submitResponse(_ stream: HTTP2Stream, headers: [HeaderField], withBody: Bool) {
        let rv: Int32 = headers.withNameValues { nva, count in
            if withBody {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readData)
                return nghttp2_submit_response(raw, stream.id, nva, count, &provider)
            }
            return nghttp2_submit_response(raw, stream.id, nva, count, nil)
        }
        if rv != 0 {
            logger.debug("could not submit response", metadata: ["stream": "\(stream.id)", "error": "\(HTTP2Error(rv, "nghttp2_submit_response"))"])
        }
        delegate?.outputPending()
    }

    func resumeData(_ stream: HTTP2Stream) {
        nghttp2_session_resume_data(raw, stream.id)
        delegate?.outputPending()
    }

    func submitReset(_ stream: HTTP2Stream, code: HTTP2ErrorCode) {
        nghttp2_submit_rst_stream(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, code.rawValue)
        delegate?.outputPending()
    }

    /// Copies queued body bytes of a stream into nghttp2's frame buffer (the data source).
    func readData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: inout UInt32) -> Int {
        guard let stream = streams[streamID]?.stream else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        var copied = 0
        if var pending = stream.pending {
            copied = min(pending.readableBytes, buffer.count)
            pending.withUnsafeReadableBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: copied) }
            pending.moveReaderIndex(forwardBy: copied)
            stream.pending = pending.readableBytes > 0 ? pending : nil
            responseBytesDone(copied)
            stream.notifyDrainedIfBelowWatermark()
        }
        if stream.pending == nil, stream.isFinished {
            flags |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers = stream.pendingTrailers, !trailers.isEmpty {
                flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                let rv = trailers.withNameValues { nghttp2_submit_trailer(raw, streamID, $0, $1) }
                if rv != 0 { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            }
        } else if copied == 0 {
            stream.isDeferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return copied
    }

    // MARK: Stream lifecycle (called from the nghttp2 callbacks)

    func beginStream(_ id: Int32) {
        let stream = HTTP2Stream(id: id, executor: executor, session: self)
        streams[id] = StreamEntry(stream: stream)
    }

    func headersComplete(_ id: Int32) {
        guard var entry = streams[id], entry.handler == nil else { return }
        let handler = makeHandler(entry.stream)
        entry.handler = handler
        streams[id] = entry
        handler.receiveHead(entry.head)
    }

    func streamClosed(_ id: Int32, code: UInt32) {
        guard let entry = streams.removeValue(forKey: id) else { return }
        entry.stream.isClosed = true
        if let unsent = entry.stream.pending?.readableBytes {
            entry.stream.pending = nil
            responseBytesDone(unsent)
        }
        entry.stream.notifyClosed()
        requestBytesTaken(id)
        entry.handler?.streamClosed(error: code == NGHTTP2_NO_ERROR.rawValue ? nil : HTTP2ErrorCode(rawValue: code))
    }

    private func check(_ rv: Int32, _ operation: String) throws(HTTP2Error) {
        if rv != 0 { throw HTTP2Error(rv, operation) }
    }
}

extension Array where Element == HeaderField {
    /// Calls `body` with the fields as an nghttp2 name/value array (nghttp2 copies them).
    func withNameValues<R>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        precondition(!isEmpty, "a header block has at least one field")
        var storage: [UInt8] = []
        storage.reserveCapacity(reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count })
        var spans: [(Int, Int, Int, Int)] = []
        spans.reserveCapacity(count)
        for field in self {
            let nameStart = storage.count
            storage.append(contentsOf: field.name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: field.value.utf8)
            spans.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart))
        }
        return storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress ?? UnsafeMutablePointer<UInt8>(bitPattern: 1)!
            let nva = spans.map { span in
                nghttp2_nv(name: base + span.0, value: base + span.2, namelen: span.1, valuelen: span.3,
                           flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
