import CProtobufC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProtoMessage {
    /// The protobuf wire bytes of this message, packed by protobuf-c.
    public func encoded() -> [UInt8] {
        let arena = CArena()
        return Self.pack(build(in: arena))
    }

    /// The wire bytes of a protobuf-c struct.
    static func pack(_ message: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
        let size = protobuf_c_message_get_packed_size(message)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = protobuf_c_message_pack(message, buffer.baseAddress)
        }
    }

    /// Lays this message out as a protobuf-c struct in `arena` (which owns all of its memory).
    func build(in arena: CArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let raw = arena.allocate(Int(descriptor.raw.pointee.sizeof_message))
        let message = raw.assumingMemoryBound(to: ProtobufCMessage.self)
        descriptor.raw.pointee.message_init(message)
        for (field, value) in presentFields {
            write(value, of: field, to: raw, arena: arena)
        }
        return message
    }

    private func write(_ value: ProtoValue, of field: FieldDescriptor, to base: UnsafeMutableRawPointer, arena: CArena) {
        let slot = base + field.offset
        switch field.label {
        case .repeated:
            guard case .list(let items) = value else { return }
            let array = arena.allocate(items.count * field.type.cSize)
            for (i, item) in items.enumerated() {
                Self.writeElement(item, to: array + i * field.type.cSize, arena: arena)
            }
            base.storeBytes(of: items.count, toByteOffset: field.quantifierOffset, as: Int.self)
            slot.storeBytes(of: UnsafeMutableRawPointer?(array), as: UnsafeMutableRawPointer?.self)
        case .optional where field.oneofKey != nil:
            base.storeBytes(of: field.number, toByteOffset: field.quantifierOffset, as: UInt32.self)
            Self.writeElement(value, to: slot, arena: arena)
        case .optional where field.type != .string && field.type != .message:
            base.storeBytes(of: 1, toByteOffset: field.quantifierOffset, as: Int32.self)
            Self.writeElement(value, to: slot, arena: arena)
        case .optional, .required, .implicit:
            Self.writeElement(value, to: slot, arena: arena)
        }
    }

    private static func writeElement(_ value: ProtoValue, to slot: UnsafeMutableRawPointer, arena: CArena) {
        switch value {
        case .int32(let v): slot.storeBytes(of: v, as: Int32.self)
        case .uint32(let v): slot.storeBytes(of: v, as: UInt32.self)
        case .int64(let v): slot.storeBytes(of: v, as: Int64.self)
        case .uint64(let v): slot.storeBytes(of: v, as: UInt64.self)
        case .float(let v): slot.storeBytes(of: v, as: Float.self)
        case .double(let v): slot.storeBytes(of: v, as: Double.self)
        case .bool(let v): slot.storeBytes(of: v ? 1 : 0, as: Int32.self)
        case .enumValue(let v): slot.storeBytes(of: v, as: Int32.self)
        case .string(let v):
            var utf8 = v.utf8CString
            let copy = arena.allocate(utf8.count)
            utf8.withUnsafeMutableBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            slot.storeBytes(of: UnsafeMutableRawPointer?(copy), as: UnsafeMutableRawPointer?.self)
        case .bytes(let v):
            let copy = arena.allocate(max(v.count, 1))
            v.withUnsafeBytes { if let from = $0.baseAddress { copy.copyMemory(from: from, byteCount: $0.count) } }
            let data = ProtobufCBinaryData(len: v.count, data: copy.assumingMemoryBound(to: UInt8.self))
            slot.storeBytes(of: data, as: ProtobufCBinaryData.self)
        case .message(let m):
            let nested = m.build(in: arena)
            slot.storeBytes(of: UnsafeMutableRawPointer?(nested), as: UnsafeMutableRawPointer?.self)
        case .list:
            preconditionFailure("a list is not an element")
        }
    }
}

/// Owns the C memory of a message being packed; frees all of it at once.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    /// Zeroed memory, aligned for any field.
    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let block = calloc(1, max(size, 1))!
        blocks.append(block)
        return block
    }

    deinit {
        for block in blocks { free(block) }
    }
}
