import CProtobufC

/// A message type generated from Protos/, with its fields, read once from protobuf-c's descriptor.
///
/// Instances are unique per type (the registry makes them), so identity is type equality.
public final class MessageDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// `package.Name`, e.g. `livekit.EgressInfo`.
    public let fullName: String
    /// Fields in field-number order.
    public let fields: [FieldDescriptor]
    /// The oneofs, each as its member fields' indices.
    public let oneofs: [[Int]]

    // Points at static, immutable descriptor data.
    nonisolated(unsafe) let raw: UnsafePointer<ProtobufCMessageDescriptor>
    private let indexByName: [String: Int]
    private let indexByNumber: [UInt32: Int]

    init(_ raw: UnsafePointer<ProtobufCMessageDescriptor>) {
        self.raw = raw
        fullName = String(cString: raw.pointee.name)
        var fields: [FieldDescriptor] = []
        for i in 0..<Int(raw.pointee.n_fields) {
            fields.append(FieldDescriptor(raw.pointee.fields[i], index: i))
        }
        self.fields = fields
        var byName: [String: Int] = [:]
        var byNumber: [UInt32: Int] = [:]
        for field in fields {
            byName[field.name] = field.index
            byName[field.jsonName] = byName[field.jsonName] ?? field.index
            byNumber[field.number] = field.index
        }
        indexByName = byName
        indexByNumber = byNumber
        var oneofs: [Int: [Int]] = [:]
        for field in fields {
            if let key = field.oneofKey { oneofs[key, default: []].append(field.index) }
        }
        self.oneofs = oneofs.sorted { $0.key < $1.key }.map(\.value)
    }

    /// The generated type with this full name; a name not in Generated/ is a programming error.
    public static func named(_ fullName: String) -> MessageDescriptor {
        guard let descriptor = DescriptorRegistry.shared.message(named: fullName) else {
            preconditionFailure("no message type \(fullName) in Generated/: run Scripts/generate-protos")
        }
        return descriptor
    }

    /// The field with this .proto name (or JSON name).
    public func field(named name: String) -> FieldDescriptor? {
        indexByName[name].map { fields[$0] }
    }

    public func field(number: UInt32) -> FieldDescriptor? {
        indexByNumber[number].map { fields[$0] }
    }

    /// The field with this name; a name that is not in the type is a programming error.
    func requireField(_ name: String) -> FieldDescriptor {
        guard let field = field(named: name) else { preconditionFailure("\(fullName) has no field \(name)") }
        return field
    }

    public var description: String { fullName }

    public static func == (lhs: MessageDescriptor, rhs: MessageDescriptor) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

