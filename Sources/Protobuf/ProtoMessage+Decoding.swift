import CProtobufC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProtoMessage {
    /// Decodes protobuf wire bytes as a message of `type`, with protobuf-c's unpacker.
    public init(decoding bytes: UnsafeRawBufferPointer, as type: MessageDescriptor) throws(ProtoError) {
        self = try Self.unpacking(bytes, as: type) { unpacked throws(ProtoError) in try ProtoMessage(reading: unpacked, as: type) }
    }

    /// Unpacks wire bytes with protobuf-c and hands `body` the struct (freed after it returns);
    /// refuses bytes protobuf-c does not take, and a string holding a NUL byte.
    static func unpacking<T>(_ bytes: UnsafeRawBufferPointer, as type: MessageDescriptor,
                             _ body: (UnsafeRawPointer) throws(ProtoError) -> T) throws(ProtoError) -> T {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let unpacked = protobuf_c_message_unpack(type.raw, nil, bytes.count, base) else {
            throw ProtoError("the bytes are not a valid \(type.fullName) message")
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        if let field = WireStrings.fieldWithNUL(in: bytes, as: type) {
            throw ProtoError("\(type.fullName).\(field) contains a NUL byte", isInvalidValue: true)
        }
        return try body(UnsafeRawPointer(unpacked))
    }

    public init(decoding bytes: [UInt8], as type: MessageDescriptor) throws(ProtoError) {
        let result: Result<ProtoMessage, ProtoError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProtoError) in try ProtoMessage(decoding: buffer, as: type) }
        }
        self = try result.get()
    }

    /// Reads a protobuf-c struct through its descriptor's offsets.
    init(reading base: UnsafeRawPointer, as type: MessageDescriptor) throws(ProtoError) {
        self.init(type)
        for field in type.fields {
            values[field.index] = try Self.read(field, at: base, in: type)
        }
    }

    private static func read(_ field: FieldDescriptor, at base: UnsafeRawPointer, in type: MessageDescriptor) throws(ProtoError) -> ProtoValue? {
        let slot = base + field.offset
        switch field.label {
        case .repeated:
            let count = base.load(fromByteOffset: field.quantifierOffset, as: Int.self)
            guard count > 0, let array = slot.load(as: UnsafeRawPointer?.self) else { return nil }
            var items: [ProtoValue] = []
            items.reserveCapacity(count)
            for i in 0..<count {
                items.append(try readElement(field, at: array + i * field.type.cSize, in: type))
            }
            return .list(items)
        case .optional where field.oneofKey != nil:
            let setCase = base.load(fromByteOffset: field.quantifierOffset, as: UInt32.self)
            return setCase == field.number ? try readElement(field, at: slot, in: type) : nil
        case .optional, .required:
            if field.type == .string || field.type == .message {
                guard slot.load(as: UnsafeRawPointer?.self) != nil else { return nil }
            } else if field.label == .optional {
                guard base.load(fromByteOffset: field.quantifierOffset, as: Int32.self) != 0 else { return nil }
            }
            return try readElement(field, at: slot, in: type)
        case .implicit:
            if field.type == .string || field.type == .message {
                guard slot.load(as: UnsafeRawPointer?.self) != nil else { return nil }
            }
            let value = try readElement(field, at: slot, in: type)
            return value.isDefault ? nil : value
        }
    }

    private static func readElement(_ field: FieldDescriptor, at slot: UnsafeRawPointer, in type: MessageDescriptor) throws(ProtoError) -> ProtoValue {
        switch field.type {
        case .int32, .sint32, .sfixed32: return .int32(slot.load(as: Int32.self))
        case .uint32, .fixed32: return .uint32(slot.load(as: UInt32.self))
        case .int64, .sint64, .sfixed64: return .int64(slot.load(as: Int64.self))
        case .uint64, .fixed64: return .uint64(slot.load(as: UInt64.self))
        case .float: return .float(slot.load(as: Float.self))
        case .double: return .double(slot.load(as: Double.self))
        case .bool: return .bool(slot.load(as: Int32.self) != 0)
        case .enum: return .enumValue(slot.load(as: Int32.self))
        case .string:
            guard let cString = slot.load(as: UnsafePointer<UInt8>?.self) else { return .string("") }
            let bytes = UnsafeBufferPointer(start: cString, count: strlen(cString))
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw ProtoError("\(type.fullName).\(field.name) is not valid UTF-8")
            }
            return .string(string)
        case .bytes:
            let data = slot.load(as: ProtobufCBinaryData.self)
            guard data.len > 0, let start = data.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: start, count: data.len)))
        case .message:
            guard let nested = slot.load(as: UnsafeRawPointer?.self) else {
                return .message(ProtoMessage(field.messageType))
            }
            return .message(try ProtoMessage(reading: nested, as: field.messageType))
        }
    }
}
