import CZlib
import NIOCore

/// The message encodings (`grpc-encoding`) this server accepts on requests.
enum MessageEncoding: String, CaseIterable {
    case identity, gzip, deflate

    /// The `grpc-accept-encoding` value advertised to clients.
    static let acceptHeader = allCases.map(\.rawValue).joined(separator: ",")

    /// Inflates a compressed message with zlib; refuses output beyond `limit` bytes, so that a
    /// small compressed message cannot expand into a huge one.
    func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
        let windowBits: Int32 = switch self {
        case .gzip: 15 + 16
        case .deflate: 15
        case .identity: preconditionFailure("identity messages are not compressed")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RPCError(.internal, "could not start the \(rawValue) decompressor")
        }
        defer { inflateEnd(&stream) }
        var output = allocator.buffer(capacity: min(limit, max(input.readableBytes * 4, 256)))
        var input = input
        let status: Int32 = input.withUnsafeMutableReadableBytes { source in
            stream.next_in = source.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(source.count)
            while true {
                if output.writableBytes == 0 {
                    guard output.capacity < limit + 1 else { return Z_BUF_ERROR }
                    output.reserveCapacity(min(output.capacity * 2, limit + 1))
                }
                let status = output.withUnsafeMutableWritableBytes { target in
                    stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(target.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, target.count - Int(stream.avail_out))
                }
                output.moveWriterIndex(forwardBy: status.1)
                if output.readableBytes > limit { return Z_BUF_ERROR }
                switch status.0 {
                case Z_STREAM_END: return Z_STREAM_END
                case Z_OK: continue
                case Z_BUF_ERROR where stream.avail_in == 0: return Z_DATA_ERROR
                case Z_BUF_ERROR: continue
                default: return status.0
                }
            }
        }
        switch status {
        case Z_STREAM_END:
            return output
        case Z_BUF_ERROR:
            throw RPCError(.resourceExhausted, "decompressed message is larger than the limit of \(limit) bytes")
        default:
            let reason = stream.msg.map { String(cString: $0) } ?? "truncated or corrupt data"
            throw RPCError(.internal, "could not decompress the \(rawValue) message: \(reason)")
        }
    }
}
