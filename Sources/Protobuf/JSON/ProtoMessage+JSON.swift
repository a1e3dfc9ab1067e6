/// How a message is written as JSON (protobuf's canonical JSON mapping).
import JSON
import Support
public struct JSONEncodingOptions: Sendable {
    /// `room_name` rather than `roomName`.
    public var useProtoNames: Bool
    /// Fields at their default are written too (`""`, `0`, `false`, `[]`, `{}`, `null` for an unset
    /// message); oneof members and `optional` fields only when set.
    public var emitDefaults: Bool

    public init(useProtoNames: Bool, emitDefaults: Bool) {
        self.useProtoNames = useProtoNames
        self.emitDefaults = emitDefaults
    }

    /// As LiveKit's server answers Twirp calls: proto names, defaults included.
    public static let twirp = JSONEncodingOptions(useProtoNames: true, emitDefaults: true)
    /// As LiveKit's webhooks are written: lowerCamelCase names, defaults left out.
    public static let webhook = JSONEncodingOptions(useProtoNames: false, emitDefaults: false)
}

extension ProtoMessage {
    // MARK: Writing

    /// The message in protobuf's JSON mapping: enums by name, 64-bit integers as strings,
    /// bytes as base64, maps as objects.
    public func json(_ options: JSONEncodingOptions) -> JSONValue {
        var members: [(String, JSONValue)] = []
        for field in descriptor.fields {
            let key = options.useProtoNames ? field.name : field.jsonName
            if let value = values[field.index] {
                members.append((key, Self.json(value, of: field, options)))
            } else if options.emitDefaults, field.label != .optional {
                members.append((key, Self.defaultJSON(of: field)))
            }
        }
        return .object(members)
    }

    private static func json(_ value: ProtoValue, of field: FieldDescriptor, _ options: JSONEncodingOptions) -> JSONValue {
        if case .list(let items) = value {
            if let entry = field.mapEntry {
                return .object(items.compactMap { item in
                    guard case .message(let pair) = item else { return nil }
                    let key: String = switch pair.values[entry.key.index] {
                    case .string(let s)?: s
                    case .int32(let n)?: String(n)
                    case .int64(let n)?: String(n)
                    case .uint32(let n)?: String(n)
                    case .uint64(let n)?: String(n)
                    case .bool(let b)?: b ? "true" : "false"
                    default: defaultJSON(of: entry.key).mapKeyText
                    }
                    let value = pair.values[entry.value.index].map { json($0, of: entry.value, options) } ?? defaultJSON(of: entry.value)
                    return (key, value)
                })
            }
            return .array(items.map { scalarJSON($0, of: field, options) })
        }
        return scalarJSON(value, of: field, options)
    }

    private static func scalarJSON(_ value: ProtoValue, of field: FieldDescriptor, _ options: JSONEncodingOptions) -> JSONValue {
        switch value {
        case .int32(let n): .number(String(n))
        case .uint32(let n): .number(String(n))
        case .int64(let n): .string(String(n))
        case .uint64(let n): .string(String(n))
        case .float(let f): JSONNumber.json(Double(f), shortest: f.description)
        case .double(let d): JSONNumber.json(d, shortest: d.description)
        case .bool(let b): .bool(b)
        case .enumValue(let n): field.enumType.name(of: n).map { .string($0) } ?? .number(String(n))
        case .string(let s): .string(s)
        case .bytes(let b): .string(Base64.encode(b))
        case .message(let m): m.json(options)
        case .list(let items): .array(items.map { scalarJSON($0, of: field, options) })
        }
    }

    private static func defaultJSON(of field: FieldDescriptor) -> JSONValue {
        if field.label == .repeated { return field.mapEntry != nil ? .object([]) : .array([]) }
        switch field.type {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .float, .double: return .number("0")
        case .int64, .sint64, .sfixed64, .uint64, .fixed64: return .string("0")
        case .bool: return .bool(false)
        case .enum: return field.enumType.name(of: 0).map { .string($0) } ?? .number("0")
        case .string, .bytes: return .string("")
        case .message: return .null
        }
    }

    // MARK: Reading

    /// Reads a message of type `descriptor` from JSON, as protobuf's mapping and LiveKit's
    /// clients write it: field names as in the .proto or lowerCamelCase; enums by name or number;
    /// 64-bit integers as strings or numbers; bytes as base64. Unknown fields (and unknown enum
    /// names) are ignored; a value of the wrong kind is an error naming the field.
    public init(json: JSONValue, as descriptor: MessageDescriptor) throws(JSONError) {
        self.init(descriptor)
        try read(json, path: descriptor.fullName)
    }

    public init(jsonText bytes: [UInt8], as descriptor: MessageDescriptor) throws(JSONError) {
        try self.init(json: try JSONParser.parse(bytes), as: descriptor)
    }

    private mutating func read(_ json: JSONValue, path: String) throws(JSONError) {
        guard case .object(let members) = json else { throw JSONError("\(path) must be a JSON object") }
        for (key, value) in members {
            guard let field = descriptor.field(named: key) else { continue }
            if case .null = value { continue }
            let at = "\(path).\(field.name)"
            if field.label == .repeated {
                if let entry = field.mapEntry {
                    guard case .object(let pairs) = value else { throw JSONError("\(at) must be a JSON object") }
                    var items: [ProtoValue] = []
                    for (mapKey, mapValue) in pairs {
                        var pair = ProtoMessage(field.messageType)
                        pair.set(entry.key, try Self.scalar(.string(mapKey), of: entry.key, at: "\(at)[\(mapKey)]", mapKey: true))
                        if let parsed = try Self.scalar(mapValue, of: entry.value, at: "\(at)[\(mapKey)]") { pair.set(entry.value, parsed) }
                        items.append(.message(pair))
                    }
                    set(field, .list(items))
                } else {
                    guard case .array(let elements) = value else { throw JSONError("\(at) must be a JSON array") }
                    var items: [ProtoValue] = []
                    for (i, element) in elements.enumerated() {
                        if let parsed = try Self.scalar(element, of: field, at: "\(at)[\(i)]") { items.append(parsed) }
                    }
                    set(field, .list(items))
                }
            } else if let parsed = try Self.scalar(value, of: field, at: at) {
                set(field, parsed)
            }
        }
    }

    /// One value of `field`'s type; nil for an unknown enum name (ignored). The rules are
    /// `JSONRead`'s, which the generated types read with.
    private static func scalar(_ json: JSONValue, of field: FieldDescriptor, at path: String, mapKey: Bool = false) throws(JSONError) -> ProtoValue? {
        switch field.type {
        case .int32, .sint32, .sfixed32: return .int32(try JSONRead.int32(json, at: path))
        case .uint32, .fixed32: return .uint32(try JSONRead.uint32(json, at: path))
        case .int64, .sint64, .sfixed64: return .int64(try JSONRead.int64(json, at: path))
        case .uint64, .fixed64: return .uint64(try JSONRead.uint64(json, at: path))
        case .float: return .float(try JSONRead.float(json, at: path))
        case .double: return .double(try JSONRead.double(json, at: path))
        case .bool:
            if mapKey, case .string(let text) = json { return .bool(try JSONRead.boolKey(text, at: path)) }
            return .bool(try JSONRead.bool(json, at: path))
        case .enum:
            switch json {
            case .string(let name): return field.enumType.number(named: name).map { .enumValue($0) }
            case .number: return .enumValue(try JSONRead.int32(json, at: path))
            default: throw JSONError("\(path) must be an enum name or number")
            }
        case .string: return .string(try JSONRead.string(json, at: path))
        case .bytes: return .bytes(Array(try JSONRead.bytes(json, at: path)))
        case .message:
            var message = ProtoMessage(field.messageType)
            try message.read(json, path: path)
            return .message(message)
        }
    }
}

extension FieldDescriptor {
    /// For a map field (a repeated `…Entry` message of `key` = 1 and `value` = 2): those two fields.
    var mapEntry: (key: FieldDescriptor, value: FieldDescriptor)? {
        guard label == .repeated, type == .message else { return nil }
        let entry = messageType
        guard entry.fullName.hasSuffix("Entry"), entry.fields.count == 2,
              entry.fields[0].name == "key", entry.fields[0].number == 1,
              entry.fields[1].name == "value", entry.fields[1].number == 2 else { return nil }
        return (entry.fields[0], entry.fields[1])
    }
}

private extension JSONValue {
    /// The text of a default value used as a map key.
    var mapKeyText: String {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        default: ""
        }
    }
}
