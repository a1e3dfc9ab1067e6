/// The value of one field of a `ProtoMessage`.
public indirect enum ProtoValue: Sendable, Equatable {
    case int32(Int32)
    case int64(Int64)
    case uint32(UInt32)
    case uint64(UInt64)
    case float(Float)
    case double(Double)
    case bool(Bool)
    /// An enum's number (unknown numbers are kept, as proto3 requires).
    case enumValue(Int32)
    case string(String)
    case bytes([UInt8])
    case message(ProtoMessage)
    /// The elements of a repeated (or map) field.
    case list([ProtoValue])

    var isList: Bool {
        if case .list = self { true } else { false }
    }

    /// Whether this is the proto3 default (zero, empty) that an implicit-presence field omits.
    var isDefault: Bool {
        switch self {
        case .int32(let v): v == 0
        case .int64(let v): v == 0
        case .uint32(let v): v == 0
        case .uint64(let v): v == 0
        case .float(let v): v == 0 && v.sign == .plus
        case .double(let v): v == 0 && v.sign == .plus
        case .bool(let v): !v
        case .enumValue(let v): v == 0
        case .string(let v): v.isEmpty
        case .bytes(let v): v.isEmpty
        case .message: false
        case .list(let v): v.isEmpty
        }
    }

    /// Whether this value fits a field of `type` (a `.list` is checked element by element).
    func fits(_ type: FieldType) -> Bool {
        switch (self, type) {
        case (.int32, .int32), (.int32, .sint32), (.int32, .sfixed32): true
        case (.int64, .int64), (.int64, .sint64), (.int64, .sfixed64): true
        case (.uint32, .uint32), (.uint32, .fixed32): true
        case (.uint64, .uint64), (.uint64, .fixed64): true
        case (.float, .float), (.double, .double), (.bool, .bool), (.enumValue, .enum): true
        case (.string, .string), (.bytes, .bytes), (.message, .message): true
        case (.list(let items), _): items.allSatisfy { $0.fits(type) }
        default: false
        }
    }
}
