import CNGHTTP2
import NIOCore

/// The nghttp2 callbacks: C function pointers that find their `HTTP2Session` through `user_data`.
extension HTTP2Session {
    static func install(on callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, onInvalidFrame)
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, onBeginFrame)
        nghttp2_session_callbacks_set_unpack_extension_callback(callbacks, unpackExtension)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)
    }

    private static func session(_ userData: UnsafeMutableRawPointer?) -> HTTP2Session {
        Unmanaged<HTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
    }

    private static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        session(userData).beginStream(frame.pointee.hd.stream_id)
        return 0
    }

    /// Frames of types nghttp2 ignores (unknown extensions) still count against the flood limit.
    private static let onBeginFrame: nghttp2_on_begin_frame_callback = { _, header, userData in
        guard let header, header.pointee.type > UInt8(NGHTTP2_CONTINUATION.rawValue) else { return 0 }
        session(userData).admit(.emptyFrame)
        return 0
    }

    /// An extension frame, complete: nothing is made of it (its payload was never kept).
    private static let unpackExtension: nghttp2_unpack_extension_callback = { _, _, _, _ in
        Int32(NGHTTP2_ERR_CANCEL.rawValue)
    }

    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let session = session(userData)
        let id = frame.pointee.hd.stream_id
        let size = nameLength + valueLength + 32  // RFC 9113 §6.5.2
        return session.addHeader(
            streamID: id, size: size,
            name: UnsafeBufferPointer(start: name, count: nameLength),
            value: UnsafeBufferPointer(start: value, count: valueLength))
    }

    private static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        return session(userData).frameReceived(frame.pointee.hd)
    }

    private static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        let session = session(userData)
        guard let handler = session.streams[streamID]?.handler else {
            session.dataReceived(streamID, length, held: false)
            return 0
        }
        defer { session.dataReceived(streamID, length, held: true) }
        var buffer = session.allocator.buffer(capacity: length)
        buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
        handler.receiveData(buffer)
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
        session(userData).streamClosed(streamID, code: errorCode)
        return 0
    }

    private static let onInvalidFrame: nghttp2_on_invalid_frame_recv_callback = { _, frame, errorCode, userData in
        let session = session(userData)
        session.logger.debug("invalid frame", metadata: [
            "type": "\(frame?.pointee.hd.type ?? 0)", "error": "\(String(cString: nghttp2_strerror(errorCode)))",
        ])
        return 0
    }

    /// After the last frame of a response, a stream marked to do so refuses the rest of its
    /// request — unless the client has already finished sending it.
    private static let onFrameSent: nghttp2_on_frame_send_callback = { raw, frame, userData in
        guard let frame, frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
        let session = session(userData)
        let id = frame.pointee.hd.stream_id
        if let stream = session.streams[id]?.stream, stream.resetsAfterResponse,
           nghttp2_session_get_stream_remote_close(raw, id) == 0 {
            session.submitReset(stream, code: .noError)
        }
        return 0
    }

    static let readData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        session(userData).readData(
            streamID: streamID, into: UnsafeMutableRawBufferPointer(start: buffer, count: length), flags: &flags!.pointee)
    }

    // MARK: What the callbacks do

    /// Records one request header, enforcing the header list limit and catching HPACK bombs.
    fileprivate func addHeader(streamID: Int32, size: Int, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard var entry = streams[streamID] else { return 0 }
        entry.headerBytes += size
        let limit = configuration.maxHeaderListSize
        if entry.headerBytes > limit * configuration.hpackBombFactor {
            streams[streamID] = entry
            terminate(.enhanceYourCalm, reason: "a header block decoded to over \(limit * configuration.hpackBombFactor) bytes (HPACK bomb)")
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        if entry.headerBytes > limit {
            entry.head.headerListTooLarge = (entry.headerBytes, limit)
        } else {
            let name = String(decoding: name, as: UTF8.self)
            let value = String(decoding: value, as: UTF8.self)
            switch name {
            case ":method": entry.head.method = value
            case ":path": entry.head.path = value
            case ":scheme": entry.head.scheme = value
            case ":authority": entry.head.authority = value
            default: entry.head.headers.append(HeaderField(name, value))
            }
        }
        if entry.head.headerListTooLarge != nil { entry.head.headerListTooLarge!.size = entry.headerBytes }
        streams[streamID] = entry
        return 0
    }

    /// Dispatches a complete frame: request heads and ends to the handlers, and flood accounting.
    fileprivate func frameReceived(_ header: nghttp2_frame_hd) -> Int32 {
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        let isAck = header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            if let entry = streams[header.stream_id], entry.handler == nil { floodGuard.credit(.emptyFrame, Self.controlFramesPerRequest) }
            headersComplete(header.stream_id)
            if endStream { streams[header.stream_id]?.handler?.receiveEnd() }
        case NGHTTP2_DATA.rawValue:
            if endStream {
                streams[header.stream_id]?.handler?.receiveEnd()
            } else if header.length == 0 {
                admit(.emptyFrame)
            }
        case NGHTTP2_PING.rawValue where !isAck:
            admit(.ping)
        case NGHTTP2_SETTINGS.rawValue where !isAck:
            admit(.settings)
        case NGHTTP2_RST_STREAM.rawValue:
            admit(.reset)
        case NGHTTP2_WINDOW_UPDATE.rawValue, NGHTTP2_PRIORITY.rawValue:
            admit(.emptyFrame)
        default:
            break
        }
        return 0
    }

    /// WINDOW_UPDATE and other control frames a request stream earns its client.
    static let controlFramesPerRequest = 4.0

    fileprivate func admit(_ kind: FloodGuard.Kind) {
        if !floodGuard.admit(kind, now: .now) {
            terminate(.enhanceYourCalm, reason: "too many \(kind.name) frames")
        }
    }
}
