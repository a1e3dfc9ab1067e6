import CZlib
import NIOCore

/// The message encodings (`grpc-encoding`) of gRPC messages: what the server accepts on
/// requests and the client on responses, and what the client may compress requests with.
public enum MessageEncoding: String, CaseIterable, Sendable {
    case identity, gzip, deflate

    /// The `grpc-accept-encoding` value advertised to peers.
    package static let acceptHeader = allCases.map(\.rawValue).joined(separator: ",")

    /// Compresses one message with zlib (gzip or deflate framing).
    package func compress(_ input: [UInt8]) throws(RPCError) -> [UInt8] {
        guard self != .identity else { return input }
        let windowBits: Int32 = self == .gzip ? 15 + 16 : 15
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw RPCError(.internal, "could not start the \(rawValue) compressor")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 16)
        var input = input
        let produced: Int? = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                guard CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END else { return nil }
                return target.count - Int(stream.avail_out)
            }
        }
        guard let produced else { throw RPCError(.internal, "could not \(rawValue)-compress the message") }
        return Array(output.prefix(produced))
    }

    /// Inflates a compressed message with zlib; refuses output beyond `limit` bytes, so that a
    /// small compressed message cannot expand into a huge one.
    package func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(RPCError) -> ByteBuffer {
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
