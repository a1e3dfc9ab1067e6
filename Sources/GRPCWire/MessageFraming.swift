import NIOCore

/// Splits a request body into gRPC length-prefixed messages: a 1-byte compressed flag, a
/// 4-byte big-endian length, then the message.
package struct MessageDeframer {
    package let maxMessageSize: Int
    private var buffer: ByteBuffer?

    package init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    package mutating func append(_ data: ByteBuffer) {
        if buffer == nil {
            buffer = data
        } else {
            var data = data
            buffer!.writeBuffer(&data)
        }
    }

    /// Whether bytes of an incomplete message are left.
    package var hasPartialMessage: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// The next complete message, nil when more bytes are needed. A length over the limit is
    /// refused as soon as its prefix arrives, before the message itself is buffered.
    package mutating func next() throws(RPCError) -> (compressed: Bool, payload: ByteBuffer)? {
        guard var buffer, buffer.readableBytes >= 5,
              let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) else { return nil }
        guard flag <= 1 else {
            throw RPCError(.internal, "invalid compressed flag \(flag) in the message prefix")
        }
        guard Int(length) <= maxMessageSize else {
            throw RPCError(.resourceExhausted, "received message larger than max (\(length) vs. \(maxMessageSize))")
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let payload = buffer.readSlice(length: Int(length))!
        self.buffer = buffer.readableBytes > 0 ? buffer : nil
        return (flag == 1, payload)
    }
}

package enum MessageFramer {
    /// One uncompressed length-prefixed message.
    package static func frame(_ bytes: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + bytes.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    /// One length-prefixed message, compressed with `encoding` unless it is identity.
    package static func frame(_ bytes: [UInt8], compression encoding: MessageEncoding, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
        guard encoding != .identity else { return frame(bytes, allocator: allocator) }
        let compressed = try encoding.compress(bytes)
        var buffer = allocator.buffer(capacity: 5 + compressed.count)
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(UInt32(compressed.count))
        buffer.writeBytes(compressed)
        return buffer
    }
}
