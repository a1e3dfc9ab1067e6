#if DEBUG || FUZZING
import HTTP
import NIOCore
@testable import RPC

/// What a gRPC call reads off its stream, as `GRPCCallHandler` reads it: the request headers
/// (`grpc-timeout`, custom metadata with base64 `-bin` values, the content type, percent-encoded
/// text) and the body, deframed from chunks into length-prefixed messages and decompressed.
///
/// Input: `[flags] [chunk count, sizes…] [header length] [header lines "name: value\n"…] [body]`.
/// Flags: bits 0-1 the message size limit (64 B, 4 KiB, the server's 4 MiB, 0), bits 2-3 the
/// `grpc-encoding` (identity, gzip, deflate, identity).
enum GRPCFramingHarness {
    static let allocator = ByteBufferAllocator()
    static let limits = [64, 4096, RPCConfiguration().maxReceiveMessageSize, 0]
    static let encodings: [MessageEncoding] = [.identity, .gzip, .deflate, .identity]

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let limit = limits[Int(flags & 0x3)]
        let encoding = encodings[Int(flags >> 2 & 0x3)]
        let sizes = input.chunkSizes()
        let headerBlock = input.bytes(Int(input.byte()))
        headers(headerBlock)
        deframe(input.rest, in: sizes, limit: limit, encoding: encoding)
    }

    static func headers(_ block: ArraySlice<UInt8>) {
        var fields: [HeaderField] = []
        for line in block.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            // "name: value"; a line without a colon is a grpc-timeout value.
            let colon = line.firstIndex(of: UInt8(ascii: ":"))
            let name = colon.map { String(decoding: line[..<$0], as: UTF8.self).lowercased() } ?? "grpc-timeout"
            let value = colon.map { line[($0 + 1)...].drop { $0 == UInt8(ascii: " ") } } ?? line
            let field = HeaderField(name, String(decoding: value, as: UTF8.self))
            fields.append(field)

            if let timeout = GRPCTimeout.parse(field.value) {
                _ = ContinuousClock.now + timeout
                _ = NIODeadline.now() + TimeAmount(timeout)
            }
            _ = GRPCCallHandler.isGRPCContentType(field.value)
            _ = PercentEncoding.decode(field.value)
            precondition(PercentEncoding.decode(PercentEncoding.encode(field.value)) == field.value,
                         "percent-encoding does not round-trip \(field.value.debugDescription)")
        }
        guard case .success(let metadata) = GRPCCallHandler.metadata(from: fields) else { return }
        var written: [HeaderField] = []
        GRPCCallHandler.append(metadata, to: &written)
        guard case .success(let reread) = GRPCCallHandler.metadata(from: written) else {
            preconditionFailure("metadata written as headers is not read back: \(written)")
        }
        precondition(reread == metadata, "metadata changes when written as headers and read back: \(written)")
    }

    static func deframe(_ body: ArraySlice<UInt8>, in sizes: [Int], limit: Int, encoding: MessageEncoding) {
        var deframer = MessageDeframer(maxMessageSize: limit)
        var delivered = 0
        for chunk in body.chunked(sizes) {
            deframer.append(allocator.buffer(bytes: chunk))
            do {
                while let message = try deframer.next() {
                    precondition(message.payload.readableBytes <= limit, "a message over the limit was delivered")
                    delivered += 5 + message.payload.readableBytes
                    guard message.compressed, encoding != .identity else { continue }
                    if let inflated = try? encoding.decompress(message.payload, limit: limit, allocator: allocator) {
                        precondition(inflated.readableBytes <= limit, "decompressed past the limit")
                    }
                }
            } catch {
                return  // the call fails
            }
        }
        precondition(deframer.hasPartialMessage == (delivered < body.count), "bytes lost or invented by the deframer")
    }
}
#endif
