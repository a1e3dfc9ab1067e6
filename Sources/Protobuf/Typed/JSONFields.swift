import Foundation
import JSON
import Support

/// What generated messages read and write their fields with in protobuf's canonical JSON
/// mapping, straight from and to their typed properties. The rules are the dynamic mapping's
/// (`ProtoMessage+JSON.swift`), and a test holds the two to the same text for every type: enums
/// by name (a number too when reading; an unknown name is ignored), 64-bit integers as strings
/// (numbers too when reading), bytes as base64, maps as objects with their keys in order.
public enum JSONRead {
    /// The members of a message's JSON object; anything else is an error at `path`.
    public static func members(_ json: JSONValue, at path: String) throws(JSONError) -> [(String, JSONValue)] {
        guard case .object(let members) = json else { throw JSONError("\(path) must be a JSON object") }
        return members
    }

    private static func text(_ json: JSONValue) -> String? {
        switch json {
        case .number(let t): t
        case .string(let s): s
        default: nil
        }
    }

    private static func integer<T: FixedWidthInteger>(_ json: JSONValue, at path: String) throws(JSONError) -> T {
        guard let t = text(json) else { throw JSONError("\(path) must be an integer") }
        if let exact = T(t) { return exact }
        // A JSON number with a fraction or an exponent that is whole (`1e3`, `5.0`); a plain
        // integer that did not parse is out of range (its Double would round into range).
        if isJSONNumber(t), t.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }),
           let d = Double(t), d == d.rounded(), let exact = T(exactly: d) {
            return exact
        }
        throw JSONError("\(path) must be an integer in range, not \(t)")
    }

    /// JSON's number grammar, loosely: a sign, digits, a fraction, an exponent; not Swift's wider
    /// one (`0x10`, `nan`, `inf`).
    private static func isJSONNumber(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }
    }

    public static func int32(_ json: JSONValue, at path: String) throws(JSONError) -> Int32 { try integer(json, at: path) }
    public static func uint32(_ json: JSONValue, at path: String) throws(JSONError) -> UInt32 { try integer(json, at: path) }
    public static func int64(_ json: JSONValue, at path: String) throws(JSONError) -> Int64 { try integer(json, at: path) }
    public static func uint64(_ json: JSONValue, at path: String) throws(JSONError) -> UInt64 { try integer(json, at: path) }

    public static func double(_ json: JSONValue, at path: String) throws(JSONError) -> Double {
        guard let t = text(json) else { throw JSONError("\(path) must be a number") }
        let value: Double? = switch t {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: isJSONNumber(t) ? Double(t).flatMap { $0.isFinite ? $0 : nil } : nil
        }
        guard let value else { throw JSONError("\(path) must be a number, not \(t)") }
        return value
    }

    public static func float(_ json: JSONValue, at path: String) throws(JSONError) -> Float { Float(try double(json, at: path)) }

    public static func bool(_ json: JSONValue, at path: String) throws(JSONError) -> Bool {
        if case .bool(let b) = json { return b }
        throw JSONError("\(path) must be true or false")
    }

    public static func string(_ json: JSONValue, at path: String) throws(JSONError) -> String {
        guard case .string(let s) = json else { throw JSONError("\(path) must be a string") }
        // protobuf-c keeps strings as C strings: one with a NUL would be cut short on the way to the wire.
        guard !s.utf8.contains(0) else { throw JSONError("\(path) contains a NUL byte", isInvalidValue: true) }
        return s
    }

    public static func bytes(_ json: JSONValue, at path: String) throws(JSONError) -> Data {
        guard case .string(let s) = json, let bytes = Base64.decode(s) else { throw JSONError("\(path) must be base64 text") }
        return Data(bytes)
    }

    /// An enum by name or number; nil for a name this version does not know (ignored).
    public static func enumeration<E: WireEnum>(_ json: JSONValue, at path: String) throws(JSONError) -> E? {
        switch json {
        case .string(let name): E(protoName: name)
        case .number: E(rawValue: try int32(json, at: path))
        default: throw JSONError("\(path) must be an enum name or number")
        }
    }

    /// A repeated field: a JSON array, its elements read by `element` (nil ones left out).
    public static func array<T>(
        _ json: JSONValue, at path: String, _ element: (JSONValue, String) throws(JSONError) -> T?
    ) throws(JSONError) -> [T] {
        guard case .array(let elements) = json else { throw JSONError("\(path) must be a JSON array") }
        var items: [T] = []
        items.reserveCapacity(elements.count)
        for (i, item) in elements.enumerated() {
            if let parsed = try element(item, "\(path)[\(i)]") { items.append(parsed) }
        }
        return items
    }

    /// A map field: a JSON object whose member names are the keys, as text.
    public static func map<Key: Hashable, Value>(
        _ json: JSONValue, at path: String, default: Value,
        key: (String, String) throws(JSONError) -> Key, value: (JSONValue, String) throws(JSONError) -> Value?
    ) throws(JSONError) -> [Key: Value] {
        guard case .object(let pairs) = json else { throw JSONError("\(path) must be a JSON object") }
        var map: [Key: Value] = [:]
        for (text, item) in pairs {
            let at = "\(path)[\(text)]"
            map[try key(text, at)] = try value(item, at) ?? `default`
        }
        return map
    }

    /// A map key of an integer type, from its text.
    public static func integerKey<T: FixedWidthInteger>(_ text: String, at path: String) throws(JSONError) -> T {
        try integer(.string(text), at: path)
    }

    public static func boolKey(_ text: String, at path: String) throws(JSONError) -> Bool {
        guard text == "true" || text == "false" else { throw JSONError("\(path) must be true or false") }
        return text == "true"
    }

    public static func stringKey(_ text: String, at path: String) throws(JSONError) -> String {
        try string(.string(text), at: path)
    }
}

/// A message's JSON object being written, member by member in field-number order.
public struct JSONMembers {
    public let options: JSONEncodingOptions
    public private(set) var members: [(String, JSONValue)] = []

    public init(_ options: JSONEncodingOptions) {
        self.options = options
    }

    public var value: JSONValue { .object(members) }

    private mutating func append(_ name: String, _ jsonName: String, _ value: JSONValue) {
        members.append((options.useProtoNames ? name : jsonName, value))
    }

    /// A field without presence: left out at its default unless defaults are written.
    public mutating func field<T: JSONScalar>(_ name: String, _ jsonName: String, _ value: T) {
        if !value.isDefault {
            append(name, jsonName, value.json)
        } else if options.emitDefaults {
            append(name, jsonName, T.defaultJSON)
        }
    }

    /// A field with presence (proto3 `optional`, a oneof member): written only when set.
    public mutating func field<T: JSONScalar>(_ name: String, _ jsonName: String, present value: T?) {
        if let value { append(name, jsonName, value.json) }
    }

    /// A message field: `null` when unset and defaults are written.
    public mutating func field<M: WireMessage>(_ name: String, _ jsonName: String, _ value: M?) {
        if let value {
            append(name, jsonName, value.json(options))
        } else if options.emitDefaults {
            append(name, jsonName, .null)
        }
    }

    /// A oneof member that is a message: written only when chosen.
    public mutating func field<M: WireMessage>(_ name: String, _ jsonName: String, present value: M?) {
        if let value { append(name, jsonName, value.json(options)) }
    }

    public mutating func field<T: JSONScalar>(_ name: String, _ jsonName: String, _ values: [T]) {
        if !values.isEmpty || options.emitDefaults { append(name, jsonName, .array(values.map(\.json))) }
    }

    public mutating func field<M: WireMessage>(_ name: String, _ jsonName: String, _ values: [M]) {
        if !values.isEmpty || options.emitDefaults { append(name, jsonName, .array(values.map { $0.json(options) })) }
    }

    public mutating func field<Key: JSONScalar & Comparable, Value: JSONScalar>(_ name: String, _ jsonName: String, _ map: [Key: Value]) {
        if !map.isEmpty || options.emitDefaults {
            append(name, jsonName, .object(map.sorted { $0.key < $1.key }.map { ($0.key.mapKeyText, $0.value.json) }))
        }
    }

    public mutating func field<Key: JSONScalar & Comparable, Value: WireMessage>(_ name: String, _ jsonName: String, _ map: [Key: Value]) {
        if !map.isEmpty || options.emitDefaults {
            append(name, jsonName, .object(map.sorted { $0.key < $1.key }.map { ($0.key.mapKeyText, $0.value.json(options)) }))
        }
    }
}

/// A field value of a scalar type as the JSON mapping writes it.
public protocol JSONScalar {
    var isDefault: Bool { get }
    var json: JSONValue { get }
    static var defaultJSON: JSONValue { get }
}

extension JSONScalar {
    /// The text of a map key.
    var mapKeyText: String {
        switch json {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        default: ""
        }
    }
}

extension Int32: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { .number(String(self)) }
    public static var defaultJSON: JSONValue { .number("0") }
}

extension UInt32: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { .number(String(self)) }
    public static var defaultJSON: JSONValue { .number("0") }
}

extension Int64: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { .string(String(self)) }
    public static var defaultJSON: JSONValue { .string("0") }
}

extension UInt64: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { .string(String(self)) }
    public static var defaultJSON: JSONValue { .string("0") }
}

extension Double: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { JSONNumber.json(self, shortest: description) }
    public static var defaultJSON: JSONValue { .number("0") }
}

extension Float: JSONScalar {
    public var isDefault: Bool { self == 0 }
    public var json: JSONValue { JSONNumber.json(Double(self), shortest: description) }
    public static var defaultJSON: JSONValue { .number("0") }
}

extension Bool: JSONScalar {
    public var isDefault: Bool { !self }
    public var json: JSONValue { .bool(self) }
    public static var defaultJSON: JSONValue { .bool(false) }
}

extension String: JSONScalar {
    public var isDefault: Bool { isEmpty }
    public var json: JSONValue { .string(self) }
    public static var defaultJSON: JSONValue { .string("") }
}

extension Data: JSONScalar {
    public var isDefault: Bool { isEmpty }
    public var json: JSONValue { .string(Base64.encode(Array(self))) }
    public static var defaultJSON: JSONValue { .string("") }
}

extension WireEnum {
    public var isDefault: Bool { rawValue == 0 }
    public var json: JSONValue { protoName.map { .string($0) } ?? .number(String(rawValue)) }
    public static var defaultJSON: JSONValue { Self(rawValue: 0).json }
}

/// Floating-point numbers as the mapping writes them: integral values without a fraction,
/// NaN and the infinities as strings.
enum JSONNumber {
    static func json(_ value: Double, shortest: String) -> JSONValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(shortest)
    }
}
