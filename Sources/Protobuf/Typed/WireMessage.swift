import CProtobufC
import JSON

/// A message type generated from Protos/ into `Generated/Swift` (Scripts/generate-protos): a
/// Swift struct with a typed property per field. It goes to and from the wire through
/// protobuf-c, with the same descriptor the dynamic `ProtoMessage` uses, and keeps the fields it
/// does not know (a newer client's) through a decode and an encode.
public protocol WireMessage: Sendable, Equatable {
    /// The protobuf-c descriptor of the type.
    static var descriptor: MessageDescriptor { get }
    /// Fields this version of the type does not declare, as they arrived.
    var unknownFields: UnknownFields { get set }

    init()
    /// Reads an unpacked protobuf-c struct of the type.
    init(reading message: MessageReader) throws(ProtoError)
    /// Lays the value out as a protobuf-c struct of the type.
    func write(to message: MessageWriter)

    /// Reads the value from protobuf's canonical JSON mapping (`JSONRead`'s rules); `path` names
    /// it in errors (`livekit.StartEgressRequest.file`).
    init(json: JSONValue, path: String) throws(JSONError)
    /// The value in protobuf's canonical JSON mapping.
    func json(_ options: JSONEncodingOptions) -> JSONValue
}

extension WireMessage {
    /// Decodes protobuf wire bytes, with protobuf-c's unpacker; refuses a string that is not
    /// UTF-8 or holds a NUL byte.
    public init(wireBytes bytes: UnsafeRawBufferPointer) throws(ProtoError) {
        self = try ProtoMessage.unpacking(bytes, as: Self.descriptor) { unpacked throws(ProtoError) in
            try Self(reading: MessageReader(unpacked, Self.descriptor))
        }
    }

    public init(wireBytes bytes: [UInt8]) throws(ProtoError) {
        let result: Result<Self, ProtoError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtoError) in try Self(wireBytes: buffer) }
        }
        self = try result.get()
    }

    /// Reads JSON text: field names as in the .proto or lowerCamelCase, enums by name or number,
    /// 64-bit integers as strings or numbers, bytes as base64; unknown fields are ignored.
    public init(jsonText bytes: [UInt8]) throws(JSONError) {
        try self.init(json: try JSONParser.parse(bytes), path: Self.descriptor.fullName)
    }

    /// The protobuf wire bytes, packed by protobuf-c.
    public func wireBytes() -> [UInt8] {
        let arena = CArena()
        return ProtoMessage.pack(build(in: arena))
    }

    /// Lays the value out as a protobuf-c struct in `arena`, which owns all of its memory.
    func build(in arena: CArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let writer = MessageWriter(Self.descriptor, arena: arena)
        write(to: writer)
        return writer.message
    }

    /// The same value as a dynamic message (for the canonical JSON mapping and reflection).
    public var dynamic: ProtoMessage {
        // Both are read from the same protobuf-c struct: this cannot fail for a valid value.
        let arena = CArena()
        guard let message = try? ProtoMessage(reading: UnsafeRawPointer(build(in: arena)), as: Self.descriptor) else {
            preconditionFailure("\(Self.descriptor.fullName) does not read back")
        }
        return message
    }

    /// A dynamic message of this type as a typed value, read from the protobuf-c struct it lays
    /// out (no packing and unpacking in between). Its strings must hold no NUL byte, which a
    /// C string would cut short: the JSON reader refuses such strings before they get here.
    public init(_ dynamic: ProtoMessage) throws(ProtoError) {
        precondition(dynamic.descriptor === Self.descriptor, "\(dynamic.descriptor) is not \(Self.descriptor)")
        let arena = CArena()
        try self.init(reading: MessageReader(UnsafeRawPointer(dynamic.build(in: arena)), Self.descriptor))
    }
}

/// An enum generated from Protos/: its declared values as cases, and any other number kept as
/// it came (`unrecognized`), as proto3 asks of open enums.
public protocol WireEnum: RawRepresentable, Sendable, Hashable, JSONScalar where RawValue == Int32 {
    init(rawValue: Int32)
    /// The value of this name in the .proto; nil for a name this version does not declare.
    init?(protoName: String)
    /// The value's name in the .proto; nil for an `unrecognized` number.
    var protoName: String? { get }
}
