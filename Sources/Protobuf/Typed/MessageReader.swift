import CProtobufC
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads the fields of an unpacked protobuf-c struct for a generated `WireMessage`, by the
/// field's index in the descriptor (field-number order, as the generator numbers them). An
/// absent field reads as its default.
public struct MessageReader {
    let base: UnsafeRawPointer
    let descriptor: MessageDescriptor

    init(_ base: UnsafeRawPointer, _ descriptor: MessageDescriptor) {
        self.base = base
        self.descriptor = descriptor
    }

    private func field(_ index: Int) -> FieldDescriptor { descriptor.fields[index] }
    private func slot(_ index: Int) -> UnsafeRawPointer { base + field(index).offset }

    /// Whether an explicit-presence field (a oneof member, an `optional` field, a message field) is set.
    public func has(_ index: Int) -> Bool {
        let field = field(index)
        if field.isOneofMember {
            return base.load(fromByteOffset: field.quantifierOffset, as: UInt32.self) == field.number
        }
        switch field.type {
        case .message, .string: return slot(index).load(as: UnsafeRawPointer?.self) != nil
        default: return field.label != .optional || base.load(fromByteOffset: field.quantifierOffset, as: Int32.self) != 0
        }
    }

    public func int32(_ index: Int) -> Int32 { slot(index).load(as: Int32.self) }
    public func uint32(_ index: Int) -> UInt32 { slot(index).load(as: UInt32.self) }
    public func int64(_ index: Int) -> Int64 { slot(index).load(as: Int64.self) }
    public func uint64(_ index: Int) -> UInt64 { slot(index).load(as: UInt64.self) }
    public func float(_ index: Int) -> Float { slot(index).load(as: Float.self) }
    public func double(_ index: Int) -> Double { slot(index).load(as: Double.self) }
    public func bool(_ index: Int) -> Bool { slot(index).load(as: Int32.self) != 0 }
    public func enumValue<E: WireEnum>(_ index: Int) -> E { E(rawValue: slot(index).load(as: Int32.self)) }
    public func string(_ index: Int) throws(ProtoError) -> String { try Self.string(at: slot(index), field(index), in: descriptor) }
    public func bytes(_ index: Int) -> Data { Self.bytes(at: slot(index)) }

    /// A message field; nil when absent.
    public func message<M: WireMessage>(_ index: Int) throws(ProtoError) -> M? {
        guard let nested = slot(index).load(as: UnsafeRawPointer?.self) else { return nil }
        return try M(reading: MessageReader(nested, M.descriptor))
    }

    // MARK: Repeated fields

    /// The elements of a repeated field, each read by `element` from its slot.
    private func elements<T>(_ index: Int, _ element: (UnsafeRawPointer) throws(ProtoError) -> T) throws(ProtoError) -> [T] {
        let field = field(index)
        let count = base.load(fromByteOffset: field.quantifierOffset, as: Int.self)
        guard count > 0, let array = slot(index).load(as: UnsafeRawPointer?.self) else { return [] }
        var items: [T] = []
        items.reserveCapacity(count)
        for i in 0..<count { items.append(try element(array + i * field.type.cSize)) }
        return items
    }

    public func int32s(_ index: Int) -> [Int32] { (try? elements(index) { $0.load(as: Int32.self) }) ?? [] }
    public func uint32s(_ index: Int) -> [UInt32] { (try? elements(index) { $0.load(as: UInt32.self) }) ?? [] }
    public func int64s(_ index: Int) -> [Int64] { (try? elements(index) { $0.load(as: Int64.self) }) ?? [] }
    public func uint64s(_ index: Int) -> [UInt64] { (try? elements(index) { $0.load(as: UInt64.self) }) ?? [] }
    public func floats(_ index: Int) -> [Float] { (try? elements(index) { $0.load(as: Float.self) }) ?? [] }
    public func doubles(_ index: Int) -> [Double] { (try? elements(index) { $0.load(as: Double.self) }) ?? [] }
    public func bools(_ index: Int) -> [Bool] { (try? elements(index) { $0.load(as: Int32.self) != 0 }) ?? [] }
    public func enumValues<E: WireEnum>(_ index: Int) -> [E] { (try? elements(index) { E(rawValue: $0.load(as: Int32.self)) }) ?? [] }
    public func bytesList(_ index: Int) -> [Data] { (try? elements(index) { Self.bytes(at: $0) }) ?? [] }

    public func strings(_ index: Int) throws(ProtoError) -> [String] {
        let field = field(index)
        return try elements(index) { slot throws(ProtoError) in try Self.string(at: slot, field, in: descriptor) }
    }

    public func messages<M: WireMessage>(_ index: Int) throws(ProtoError) -> [M] {
        try elements(index) { slot throws(ProtoError) in
            guard let nested = slot.load(as: UnsafeRawPointer?.self) else { return M() }
            return try M(reading: MessageReader(nested, M.descriptor))
        }
    }

    /// A map field (repeated entry messages): each entry's key (field 1) and value (field 2) read
    /// by the closures; a later entry with the same key wins, as in protobuf.
    public func map<Key: Hashable, Value>(_ index: Int, key: (MessageReader) throws(ProtoError) -> Key,
                                          value: (MessageReader) throws(ProtoError) -> Value) throws(ProtoError) -> [Key: Value] {
        let entryType = field(index).messageType
        var map: [Key: Value] = [:]
        for entry in try elements(index, { $0.load(as: UnsafeRawPointer?.self) }) {
            guard let entry else { continue }
            let reader = MessageReader(entry, entryType)
            map[try key(reader)] = try value(reader)
        }
        return map
    }

    // MARK: Unknown fields

    /// The fields protobuf-c found and this type does not declare.
    public var unknownFields: UnknownFields {
        let message = base.assumingMemoryBound(to: ProtobufCMessage.self).pointee
        guard message.n_unknown_fields > 0, let fields = message.unknown_fields else { return UnknownFields() }
        return UnknownFields((0..<Int(message.n_unknown_fields)).map { i in
            let field = fields[i]
            let data = field.len > 0 && field.data != nil ? Array(UnsafeBufferPointer(start: field.data, count: field.len)) : []
            return UnknownFields.Field(number: field.tag, wireType: UInt8(truncatingIfNeeded: field.wire_type.rawValue), data: data)
        })
    }

    // MARK: Elements

    static func string(at slot: UnsafeRawPointer, _ field: FieldDescriptor, in type: MessageDescriptor) throws(ProtoError) -> String {
        guard let cString = slot.load(as: UnsafePointer<UInt8>?.self) else { return "" }
        guard let string = String(validating: UnsafeBufferPointer(start: cString, count: strlen(cString)), as: UTF8.self) else {
            throw ProtoError("\(type.fullName).\(field.name) is not valid UTF-8")
        }
        return string
    }

    static func bytes(at slot: UnsafeRawPointer) -> Data {
        let data = slot.load(as: ProtobufCBinaryData.self)
        guard data.len > 0, let start = data.data else { return Data() }
        return Data(bytes: start, count: data.len)
    }
}
