/// A message of any type generated from Protos/, as a Swift value.
///
/// Fields are addressed by their .proto names; the names are checked against the descriptor,
/// and a name the type does not have is a programming error. Reading an absent field gives its
/// proto3 default. Setting a oneof member clears the other members of its oneof.
public struct ProtoMessage: Sendable, Equatable {
    public let descriptor: MessageDescriptor
    /// By field index; nil is absent (for implicit-presence fields: the default value).
    var values: [ProtoValue?]

    public init(_ descriptor: MessageDescriptor) {
        self.descriptor = descriptor
        values = Array(repeating: nil, count: descriptor.fields.count)
    }

    /// A new, empty message of the type with this full name (`livekit.EgressInfo`).
    public init(_ fullName: String) {
        guard let descriptor = DescriptorRegistry.shared.message(named: fullName) else {
            preconditionFailure("no message type \(fullName) in Generated/")
        }
        self.init(descriptor)
    }

    // MARK: Generic access

    /// The value of a field, nil when absent.
    public subscript(_ name: String) -> ProtoValue? {
        get { values[descriptor.requireField(name).index] }
        set { set(descriptor.requireField(name), newValue) }
    }

    /// Whether the field is present: a set oneof member or optional field, a non-empty repeated
    /// field, a message field, or an implicit field holding other than its default.
    public func has(_ name: String) -> Bool { self[name] != nil }

    /// The name of the member set in the oneof that contains `memberName`, if any.
    public func oneofCase(containing memberName: String) -> String? {
        guard let key = descriptor.requireField(memberName).oneofKey else { return nil }
        return descriptor.fields.first { $0.oneofKey == key && values[$0.index] != nil }?.name
    }

    /// Fields that are present, in number order.
    public var presentFields: [(field: FieldDescriptor, value: ProtoValue)] {
        descriptor.fields.compactMap { field in values[field.index].map { (field, $0) } }
    }

    mutating func set(_ field: FieldDescriptor, _ value: ProtoValue?) {
        guard var value else {
            values[field.index] = nil
            return
        }
        if field.label == .repeated, !value.isList {
            value = .list([value])
        }
        precondition(value.fits(field.type), "\(descriptor.fullName).\(field.name) is \(field.type), not \(value)")
        if case .message(let message) = value {
            precondition(message.descriptor === field.messageType,
                         "\(descriptor.fullName).\(field.name) holds \(field.messageType), not \(message.descriptor)")
        }
        if let key = field.oneofKey {
            for other in descriptor.fields where other.oneofKey == key { values[other.index] = nil }
        }
        let implicitDefault = field.label == .implicit && value.isDefault
        let emptyList = field.label == .repeated && value.isDefault
        values[field.index] = implicitDefault || emptyList ? nil : value
    }

    // MARK: Typed reads (the proto3 default when absent)

    public func string(_ name: String) -> String {
        if case .string(let v) = self[name] { return v }
        return ""
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let v) = self[name] { return v }
        return false
    }

    public func int32(_ name: String) -> Int32 {
        if case .int32(let v) = self[name] { return v }
        return 0
    }

    public func int64(_ name: String) -> Int64 {
        if case .int64(let v) = self[name] { return v }
        return 0
    }

    public func uint32(_ name: String) -> UInt32 {
        if case .uint32(let v) = self[name] { return v }
        return 0
    }

    public func double(_ name: String) -> Double {
        if case .double(let v) = self[name] { return v }
        return 0
    }

    /// An enum field's number (0 when absent).
    public func enumNumber(_ name: String) -> Int32 {
        if case .enumValue(let v) = self[name] { return v }
        return 0
    }

    /// An enum field's value name, or its number as text when the number is not declared.
    public func enumName(_ name: String) -> String {
        let number = enumNumber(name)
        return descriptor.requireField(name).enumType.name(of: number) ?? String(number)
    }

    public func message(_ name: String) -> ProtoMessage? {
        if case .message(let v) = self[name] { return v }
        return nil
    }

    public func messages(_ name: String) -> [ProtoMessage] {
        guard case .list(let items) = self[name] else { return [] }
        return items.compactMap { if case .message(let m) = $0 { m } else { nil } }
    }

    public func strings(_ name: String) -> [String] {
        guard case .list(let items) = self[name] else { return [] }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    // MARK: Typed writes

    public mutating func set(_ name: String, _ value: String) { self[name] = .string(value) }
    public mutating func set(_ name: String, _ value: Bool) { self[name] = .bool(value) }
    public mutating func set(_ name: String, _ value: Int32) { self[name] = .int32(value) }
    public mutating func set(_ name: String, _ value: UInt32) { self[name] = .uint32(value) }
    public mutating func set(_ name: String, _ value: UInt64) { self[name] = .uint64(value) }
    public mutating func set(_ name: String, _ value: Int64) { self[name] = .int64(value) }
    public mutating func set(_ name: String, _ value: ProtoMessage) { self[name] = .message(value) }
    public mutating func set(_ name: String, _ values: [ProtoMessage]) { self[name] = .list(values.map { .message($0) }) }
    public mutating func set(_ name: String, _ values: [String]) { self[name] = .list(values.map { .string($0) }) }

    /// Sets an enum field by its value's name; a name the enum lacks is a programming error.
    public mutating func setEnum(_ name: String, _ valueName: String) {
        let field = descriptor.requireField(name)
        guard let number = field.enumType.number(named: valueName) else {
            preconditionFailure("\(field.enumType) has no value \(valueName)")
        }
        set(field, .enumValue(number))
    }

    public mutating func setEnum(_ name: String, number: Int32) { self[name] = .enumValue(number) }
}
