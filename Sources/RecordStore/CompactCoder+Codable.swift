// The Encoder and Decoder behind CompactCoder: values to nodes and back.

/// Where a value sits, kept as a link to its parent so that encoding a field costs no array:
/// the coding path is only made when somebody asks for it (an error).
final class CodingPathLink: Sendable {
    let parent: CodingPathLink?
    let key: (any CodingKey & Sendable)?

    static let root = CodingPathLink(parent: nil, key: nil)

    private init(parent: CodingPathLink?, key: (any CodingKey & Sendable)?) {
        self.parent = parent
        self.key = key
    }

    func appending(_ key: some CodingKey) -> CodingPathLink {
        CodingPathLink(parent: self, key: PathKey(key))
    }

    var path: [any CodingKey] {
        var keys: [any CodingKey] = []
        var link: CodingPathLink? = self
        while let current = link, let key = current.key {
            keys.append(key)
            link = current.parent
        }
        return keys.reversed()
    }
}

/// A coding key as text and index, whatever type it came from.
private struct PathKey: CodingKey, Sendable {
    let stringValue: String
    let intValue: Int?
    init(_ key: some CodingKey) {
        stringValue = key.stringValue
        intValue = key.intValue
    }
    init?(stringValue: String) { (self.stringValue, intValue) = (stringValue, nil) }
    init?(intValue: Int) { (stringValue, self.intValue) = ("\(intValue)", intValue) }
}

final class NodeEncoder: Encoder {
    let link: CodingPathLink
    var codingPath: [any CodingKey] { link.path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var node: Node = .null

    init(link: CodingPathLink) {
        self.link = link
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed(let existing) = node { return KeyedEncodingContainer(KeyedWriter(container: existing, link: link)) }
        let container = KeyedNode()
        node = .keyed(container)
        return KeyedEncodingContainer(KeyedWriter(container: container, link: link))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed(let existing) = node { return UnkeyedWriter(container: existing, link: link) }
        let container = UnkeyedNode()
        node = .unkeyed(container)
        return UnkeyedWriter(container: container, link: link)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleWriter(encoder: self) }

    /// The node of one value: scalars directly, anything else through its `encode(to:)`.
    static func node(of value: some Encodable, at link: @autoclosure () -> CodingPathLink) throws -> Node {
        switch value {
        case let value as String: return .string(value)
        case let value as Bool: return .bool(value)
        case let value as Double: return .double(value)
        case let value as Float: return .double(Double(value))
        case let value as any FixedWidthInteger & SignedInteger: return .int(Int64(value))
        case let value as any FixedWidthInteger & UnsignedInteger: return .uint(UInt64(value))
        default:
            let encoder = NodeEncoder(link: link())
            try value.encode(to: encoder)
            return encoder.node
        }
    }
}

/// Scalars are written by the containers' typed methods (what synthesized `encode(to:)` calls),
/// so the common fields never go through the generic path and its dynamic casts.
private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let container: KeyedNode
    let link: CodingPathLink
    var codingPath: [any CodingKey] { link.path }

    private func put(_ node: Node, _ key: Key) { container.entries.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.double(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.uint(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(try NodeEncoder.node(of: value, at: link.appending(key)), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = KeyedNode()
        put(.keyed(nested), key)
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(container: nested, link: link.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = UnkeyedNode()
        put(.unkeyed(nested), key)
        return UnkeyedWriter(container: nested, link: link.appending(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let nested = KeyedNode()
        container.entries.append((name, .keyed(nested)))
        let encoder = NodeEncoder(link: link)
        encoder.node = .keyed(nested)
        return encoder
    }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer {
    let container: UnkeyedNode
    let link: CodingPathLink
    var codingPath: [any CodingKey] { link.path }
    var count: Int { container.values.count }

    mutating func encodeNil() throws { container.values.append(.null) }
    mutating func encode(_ value: Bool) throws { container.values.append(.bool(value)) }
    mutating func encode(_ value: String) throws { container.values.append(.string(value)) }
    mutating func encode(_ value: Double) throws { container.values.append(.double(value)) }
    mutating func encode(_ value: Int) throws { container.values.append(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { container.values.append(.int(value)) }
    mutating func encode(_ value: UInt64) throws { container.values.append(.uint(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        container.values.append(try NodeEncoder.node(of: value, at: link))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = KeyedNode()
        container.values.append(.keyed(nested))
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(container: nested, link: link))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = UnkeyedNode()
        container.values.append(.unkeyed(nested))
        return UnkeyedWriter(container: nested, link: link)
    }

    mutating func superEncoder() -> any Encoder {
        let nested = KeyedNode()
        container.values.append(.keyed(nested))
        let encoder = NodeEncoder(link: link)
        encoder.node = .keyed(nested)
        return encoder
    }
}

private struct SingleWriter: SingleValueEncodingContainer {
    let encoder: NodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.node = .null }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.node = try NodeEncoder.node(of: value, at: encoder.link)
    }
}

// MARK: Decoding

struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .keyed(let container) = node else { throw mismatch("a keyed container") }
        return KeyedDecodingContainer(KeyedReader(container: container, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .unkeyed(let container) = node else { throw mismatch("a list") }
        return UnkeyedReader(values: container.values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleReader(node: node, codingPath: codingPath) }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(node)"))
    }

    /// A value of `type` from `node`: scalars directly (integers checked to fit), anything else
    /// through its `init(from:)`.
    static func value<T: Decodable>(_ type: T.Type, from node: Node, at path: [any CodingKey]) throws -> T {
        let scalar: Any?
        if type == String.self, case .string(let value) = node {
            scalar = value
        } else if type == Bool.self, case .bool(let value) = node {
            scalar = value
        } else if type == Double.self, case .double(let value) = node {
            scalar = value
        } else if type == Float.self, case .double(let value) = node {
            scalar = Float(value)
        } else if let integer = type as? any FixedWidthInteger.Type {
            scalar = exactly(integer, node)
        } else if type == String.self || type == Bool.self || type == Double.self || type == Float.self {
            scalar = nil
        } else {
            return try T(from: NodeDecoder(node: node, codingPath: path))
        }
        guard let value = scalar as? T else {
            throw DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "\(node) is not a \(type)"))
        }
        return value
    }

    /// The integer `node` holds as an `Integer`, if it is one and fits.
    private static func exactly<Integer: FixedWidthInteger>(_ type: Integer.Type, _ node: Node) -> Integer? {
        switch node {
        case .int(let value): Integer(exactly: value)
        case .uint(let value): Integer(exactly: value)
        default: nil
        }
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let container: KeyedNode
    let codingPath: [any CodingKey]
    var allKeys: [Key] { container.byKey.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { container.byKey[key.stringValue] != nil }

    private func node(_ key: Key) throws -> Node {
        guard let node = container.byKey[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
        }
        return node
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try node(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try NodeDecoder.value(type, from: try node(key), at: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: try node(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: try node(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        NodeDecoder(node: container.byKey["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { NodeDecoder(node: try node(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let values: [Node]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    private mutating func next() throws -> Node {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "the list has \(values.count) values"))
        }
        defer { currentIndex += 1 }
        return values[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = values[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try NodeDecoder.value(type, from: try next(), at: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: try next(), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: try next(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { NodeDecoder(node: try next(), codingPath: codingPath) }
}

private struct SingleReader: SingleValueDecodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try NodeDecoder.value(type, from: node, at: codingPath)
    }
}
