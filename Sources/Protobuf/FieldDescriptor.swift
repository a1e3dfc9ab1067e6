import CProtobufC

/// One field of a message type, read from its protobuf-c descriptor.
public struct FieldDescriptor: Sendable {
    /// The field's name as written in the .proto file (`room_name`).
    public let name: String
    /// The lowerCamelCase name of the canonical JSON mapping (`roomName`).
    public let jsonName: String
    public let number: UInt32
    public let type: FieldType
    public let label: Label
    /// Position in the message's field list, which protobuf-c keeps ordered by number.
    public let index: Int
    /// Members of one oneof share this key (protobuf-c keeps no oneof names, only the offset of
    /// the shared case field); nil for a field outside any oneof.
    public var oneofKey: Int? { isOneofMember ? quantifierOffset : nil }
    public let isDeprecated: Bool

    let offset: Int
    let quantifierOffset: Int
    // Points at static, immutable descriptor data.
    nonisolated(unsafe) let typeDescriptor: UnsafeRawPointer?

    /// How a field occurs, as protobuf-c sees it.
    public enum Label: Sendable {
        /// proto3 implicit presence: absent means the default value.
        case implicit
        /// Explicit presence (`optional`, or a oneof member).
        case optional
        case repeated
        case required
    }

    init(_ raw: ProtobufCFieldDescriptor, index: Int) {
        name = String(cString: raw.name)
        jsonName = FieldDescriptor.lowerCamelCase(name)
        number = raw.id
        type = FieldType(raw.type)
        switch raw.label {
        case PROTOBUF_C_LABEL_REPEATED: label = .repeated
        case PROTOBUF_C_LABEL_OPTIONAL: label = .optional
        case PROTOBUF_C_LABEL_REQUIRED: label = .required
        default: label = (raw.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue)) != 0 ? .optional : .implicit
        }
        self.index = index
        isDeprecated = (raw.flags & UInt32(PROTOBUF_C_FIELD_FLAG_DEPRECATED.rawValue)) != 0
        isOneofMember = (raw.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue)) != 0
        offset = Int(raw.offset)
        quantifierOffset = Int(raw.quantifier_offset)
        typeDescriptor = raw.descriptor
    }

    let isOneofMember: Bool

    /// The message type of a `.message` field.
    public var messageType: MessageDescriptor {
        guard type == .message, let typeDescriptor else { preconditionFailure("\(name) is not a message field") }
        return DescriptorRegistry.shared.message(at: typeDescriptor)
    }

    /// The enum type of an `.enum` field.
    public var enumType: EnumDescriptor {
        guard type == .enum, let typeDescriptor else { preconditionFailure("\(name) is not an enum field") }
        return DescriptorRegistry.shared.enumType(at: typeDescriptor)
    }

    /// `room_name` → `roomName`, as protobuf's JSON mapping names fields.
    public static func lowerCamelCase(_ name: String) -> String {
        var out = ""
        var upperNext = false
        for ch in name {
            if ch == "_" {
                upperNext = true
            } else if upperNext {
                out += ch.uppercased()
                upperNext = false
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

/// The wire types protobuf-c knows, folded to what a Swift value needs.
public enum FieldType: Sendable, Equatable {
    case int32, sint32, sfixed32, uint32, fixed32
    case int64, sint64, sfixed64, uint64, fixed64
    case float, double, bool, `enum`, string, bytes, message

    init(_ raw: ProtobufCType) {
        switch raw {
        case PROTOBUF_C_TYPE_INT32: self = .int32
        case PROTOBUF_C_TYPE_SINT32: self = .sint32
        case PROTOBUF_C_TYPE_SFIXED32: self = .sfixed32
        case PROTOBUF_C_TYPE_UINT32: self = .uint32
        case PROTOBUF_C_TYPE_FIXED32: self = .fixed32
        case PROTOBUF_C_TYPE_INT64: self = .int64
        case PROTOBUF_C_TYPE_SINT64: self = .sint64
        case PROTOBUF_C_TYPE_SFIXED64: self = .sfixed64
        case PROTOBUF_C_TYPE_UINT64: self = .uint64
        case PROTOBUF_C_TYPE_FIXED64: self = .fixed64
        case PROTOBUF_C_TYPE_FLOAT: self = .float
        case PROTOBUF_C_TYPE_DOUBLE: self = .double
        case PROTOBUF_C_TYPE_BOOL: self = .bool
        case PROTOBUF_C_TYPE_ENUM: self = .enum
        case PROTOBUF_C_TYPE_STRING: self = .string
        case PROTOBUF_C_TYPE_BYTES: self = .bytes
        default: self = .message
        }
    }

    /// Bytes one element occupies in a protobuf-c struct or repeated array.
    var cSize: Int {
        switch self {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .float, .bool, .enum: 4
        case .int64, .sint64, .sfixed64, .uint64, .fixed64, .double: 8
        case .string, .message: MemoryLayout<UnsafeRawPointer>.size
        case .bytes: MemoryLayout<ProtobufCBinaryData>.size
        }
    }
}
