import NIOCore
import Protobuf

/// How a call's messages are written: protobuf's binary form (gRPC, Twirp's
/// `application/protobuf`) or the canonical JSON mapping (Twirp's `application/json`).
public enum WireFormat: Sendable {
    case protobuf, json
}

/// Reads a handler's message type from a call's bytes and writes it back: the generated types,
/// or the dynamic `ProtoMessage` of the method's descriptor (reflection).
struct MessageCodec<Message: Sendable>: Sendable {
    let decode: @Sendable (ByteBuffer, WireFormat, MessageDescriptor) throws -> Message
    let encode: @Sendable (Message, WireFormat) -> [UInt8]
}

extension MessageCodec where Message: WireMessage {
    static var generated: MessageCodec {
        MessageCodec(
            decode: { bytes, format, _ in
                switch format {
                case .protobuf:
                    return try bytes.withUnsafeReadableBytes { buffer in try Message(wireBytes: buffer) }
                case .json:
                    return isBlank(bytes) ? Message() : try Message(jsonText: Array(bytes.readableBytesView))
                }
            },
            encode: { message, format in
                switch format {
                case .protobuf: message.wireBytes()
                case .json: Array(message.json(.twirp).text.utf8)
                }
            })
    }
}

extension MessageCodec where Message == ProtoMessage {
    static var dynamic: MessageCodec {
        MessageCodec(
            decode: { bytes, format, descriptor in
                switch format {
                case .protobuf:
                    return try bytes.withUnsafeReadableBytes { buffer in try ProtoMessage(decoding: buffer, as: descriptor) }
                case .json:
                    return isBlank(bytes) ? ProtoMessage(descriptor) : try ProtoMessage(jsonText: Array(bytes.readableBytesView), as: descriptor)
                }
            },
            encode: { message, format in
                switch format {
                case .protobuf: message.encoded()
                case .json: Array(message.json(.twirp).text.utf8)
                }
            })
    }
}

/// An empty JSON body is an empty message, as Twirp's generated servers take it.
private func isBlank(_ bytes: ByteBuffer) -> Bool {
    bytes.readableBytesView.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
}

/// A request message that could not be decoded, as the executor reports it.
struct RequestDecodingFailure: Error {
    let underlying: any Error
    let format: WireFormat
    let type: MessageDescriptor
}
