import CNGHTTP2
import NIOCore

/// Bytes between a socket and an nghttp2 session (server's or client's alike).
enum NGHTTP2Bytes {
    /// Feeds bytes read from the socket; returns how many nghttp2 took, or its (negative) error.
    static func receive(_ buffer: ByteBuffer, into session: OpaquePointer) -> Int {
        buffer.withUnsafeReadableBytes { bytes in
            nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
    }

    /// Appends the frames the session has ready to `buffer`, up to about `limit` bytes.
    static func drain(_ session: OpaquePointer, into buffer: inout ByteBuffer, limit: Int) throws(HTTP2Error) {
        while buffer.readableBytes < limit {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { throw HTTP2Error(count, "nghttp2_session_mem_send") }
            guard count > 0, let data else { return }
            buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    /// Whether the session is still of use: false once it has ended (a GOAWAY exchanged and no
    /// stream left, or a connection error).
    static func isAlive(_ session: OpaquePointer) -> Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }
}
