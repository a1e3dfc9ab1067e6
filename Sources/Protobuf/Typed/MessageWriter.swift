import CProtobufC
import Foundation

/// Lays out a generated `WireMessage` as a protobuf-c struct, field by field (by the field's
/// index in the descriptor), in an arena that owns every byte of it. Setting a oneof member
/// sets its oneof's case; setting an `optional` field sets its presence.
public struct MessageWriter {
    let base: UnsafeMutableRawPointer
    let descriptor: MessageDescriptor
    let arena: CArena

    init(_ descriptor: MessageDescriptor, arena: CArena) {
        self.descriptor = descriptor
        self.arena = arena
        base = arena.allocate(Int(descriptor.raw.pointee.sizeof_message))
        descriptor.raw.pointee.message_init(base.assumingMemoryBound(to: ProtobufCMessage.self))
    }

    var message: UnsafeMutablePointer<ProtobufCMessage> { base.assumingMemoryBound(to: ProtobufCMessage.self) }

    /// The slot of a single field, with its presence marked.
    private func present(_ index: Int) -> UnsafeMutableRawPointer {
        let field = descriptor.fields[index]
        if field.isOneofMember {
            base.storeBytes(of: field.number, toByteOffset: field.quantifierOffset, as: UInt32.self)
        } else if field.label == .optional, field.type != .string, field.type != .message {
            base.storeBytes(of: 1, toByteOffset: field.quantifierOffset, as: Int32.self)
        }
        return base + field.offset
    }

    public func set(_ index: Int, _ value: Int32) { present(index).storeBytes(of: value, as: Int32.self) }
    public func set(_ index: Int, _ value: UInt32) { present(index).storeBytes(of: value, as: UInt32.self) }
    public func set(_ index: Int, _ value: Int64) { present(index).storeBytes(of: value, as: Int64.self) }
    public func set(_ index: Int, _ value: UInt64) { present(index).storeBytes(of: value, as: UInt64.self) }
    public func set(_ index: Int, _ value: Float) { present(index).storeBytes(of: value, as: Float.self) }
    public func set(_ index: Int, _ value: Double) { present(index).storeBytes(of: value, as: Double.self) }
    public func set(_ index: Int, _ value: Bool) { present(index).storeBytes(of: value ? 1 : 0, as: Int32.self) }
    public func set<E: WireEnum>(_ index: Int, _ value: E) { present(index).storeBytes(of: value.rawValue, as: Int32.self) }
    public func set(_ index: Int, _ value: String) { Self.store(value, at: present(index), arena: arena) }
    public func set(_ index: Int, _ value: Data) { Self.store(value, at: present(index), arena: arena) }
    public func set<M: WireMessage>(_ index: Int, _ value: M) {
        present(index).storeBytes(of: UnsafeMutableRawPointer(value.build(in: arena)), as: UnsafeMutableRawPointer?.self)
    }

    // MARK: Repeated fields

    /// Stores `values` as the repeated field's array, each element laid out by `element`.
    private func setElements<T>(_ index: Int, _ values: [T], _ element: (T, UnsafeMutableRawPointer) -> Void) {
        guard !values.isEmpty else { return }
        let field = descriptor.fields[index]
        let array = arena.allocate(values.count * field.type.cSize)
        for (i, value) in values.enumerated() { element(value, array + i * field.type.cSize) }
        base.storeBytes(of: values.count, toByteOffset: field.quantifierOffset, as: Int.self)
        (base + field.offset).storeBytes(of: UnsafeMutableRawPointer?(array), as: UnsafeMutableRawPointer?.self)
    }

    public func set(_ index: Int, _ values: [Int32]) { setElements(index, values) { $1.storeBytes(of: $0, as: Int32.self) } }
    public func set(_ index: Int, _ values: [UInt32]) { setElements(index, values) { $1.storeBytes(of: $0, as: UInt32.self) } }
    public func set(_ index: Int, _ values: [Int64]) { setElements(index, values) { $1.storeBytes(of: $0, as: Int64.self) } }
    public func set(_ index: Int, _ values: [UInt64]) { setElements(index, values) { $1.storeBytes(of: $0, as: UInt64.self) } }
    public func set(_ index: Int, _ values: [Float]) { setElements(index, values) { $1.storeBytes(of: $0, as: Float.self) } }
    public func set(_ index: Int, _ values: [Double]) { setElements(index, values) { $1.storeBytes(of: $0, as: Double.self) } }
    public func set(_ index: Int, _ values: [Bool]) { setElements(index, values) { $1.storeBytes(of: $0 ? 1 : 0, as: Int32.self) } }
    public func set<E: WireEnum>(_ index: Int, _ values: [E]) { setElements(index, values) { $1.storeBytes(of: $0.rawValue, as: Int32.self) } }
    public func set(_ index: Int, _ values: [String]) { setElements(index, values) { Self.store($0, at: $1, arena: arena) } }
    public func set(_ index: Int, _ values: [Data]) { setElements(index, values) { Self.store($0, at: $1, arena: arena) } }
    public func set<M: WireMessage>(_ index: Int, _ values: [M]) {
        setElements(index, values) { $1.storeBytes(of: UnsafeMutableRawPointer($0.build(in: arena)), as: UnsafeMutableRawPointer?.self) }
    }

    /// A map field, as repeated entry messages in key order (so that the bytes are the same
    /// every time); `entry` sets an entry's key (field index 0) and value (index 1).
    public func setMap<Key: Comparable, Value>(_ index: Int, _ map: [Key: Value], entry: (MessageWriter, Key, Value) -> Void) {
        let entryType = descriptor.fields[index].messageType
        let entries = map.sorted { $0.key < $1.key }.map { key, value in
            let writer = MessageWriter(entryType, arena: arena)
            entry(writer, key, value)
            return writer.base
        }
        setElements(index, entries) { $1.storeBytes(of: UnsafeMutableRawPointer?($0), as: UnsafeMutableRawPointer?.self) }
    }

    // MARK: Unknown fields

    /// Fields to send as they arrived.
    public func setUnknownFields(_ unknown: UnknownFields) {
        guard !unknown.isEmpty else { return }
        let size = MemoryLayout<ProtobufCMessageUnknownField>.stride
        let array = arena.allocate(unknown.fields.count * size).bindMemory(to: ProtobufCMessageUnknownField.self, capacity: unknown.fields.count)
        for (i, field) in unknown.fields.enumerated() {
            let data = arena.allocate(field.data.count)
            field.data.withUnsafeBytes { if let from = $0.baseAddress { data.copyMemory(from: from, byteCount: $0.count) } }
            array[i] = ProtobufCMessageUnknownField(tag: field.number, wire_type: ProtobufCWireType(rawValue: UInt32(field.wireType)),
                                                    len: field.data.count, data: data.assumingMemoryBound(to: UInt8.self))
        }
        message.pointee.n_unknown_fields = UInt32(unknown.fields.count)
        message.pointee.unknown_fields = array
    }

    // MARK: Elements

    static func store(_ value: String, at slot: UnsafeMutableRawPointer, arena: CArena) {
        var utf8 = value.utf8CString
        let copy = arena.allocate(utf8.count)
        utf8.withUnsafeMutableBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        slot.storeBytes(of: UnsafeMutableRawPointer?(copy), as: UnsafeMutableRawPointer?.self)
    }

    static func store(_ value: Data, at slot: UnsafeMutableRawPointer, arena: CArena) {
        let copy = arena.allocate(max(value.count, 1))
        value.withUnsafeBytes { if let from = $0.baseAddress { copy.copyMemory(from: from, byteCount: $0.count) } }
        slot.storeBytes(of: ProtobufCBinaryData(len: value.count, data: copy.assumingMemoryBound(to: UInt8.self)), as: ProtobufCBinaryData.self)
    }
}
