/// A compact, self-describing binary form for `Codable` values: what the record store writes at
/// every change, several times cheaper to make than JSON (no text, no escaping, no number
/// formatting). Keyed containers keep their keys, so a field added later reads as absent from
/// older rows.
///
/// A value is a tag byte and its payload: 0 nil, 1 false, 2 true, 3 a signed integer (zigzag
/// varint), 4 an unsigned one (varint), 5 a double (8 bytes), 6 a string (varint length, UTF-8),
/// 7 a keyed container (varint count, then each key as a string without its tag, and its
/// value), 8 an unkeyed one (varint count, then the values). Reading is bounded by the bytes
/// given and nests at most `maxDepth` deep.
enum CompactCoder {
    static let maxDepth = 64

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = NodeEncoder(link: .root)
        try value.encode(to: encoder)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        encoder.node.write(into: &bytes)
        return bytes
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        var reader = Reader(bytes: bytes)
        let node = try reader.node(depth: 0)
        guard reader.offset == bytes.count else { throw CompactCoderError("\(bytes.count - reader.offset) bytes after the value") }
        return try Value(from: NodeDecoder(node: node, codingPath: []))
    }
}

struct CompactCoderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A value being encoded or decoded. Containers are classes so that a nested container written
/// after it was handed out lands in its parent.
enum Node {
    case null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String)
    case keyed(KeyedNode), unkeyed(UnkeyedNode)

    func write(into bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(0)
        case .bool(let value): bytes.append(value ? 2 : 1)
        case .int(let value):
            bytes.append(3)
            Self.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &bytes)
        case .uint(let value):
            bytes.append(4)
            Self.varint(value, into: &bytes)
        case .double(let value):
            bytes.append(5)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .string(let value):
            bytes.append(6)
            Self.string(value, into: &bytes)
        case .keyed(let container):
            bytes.append(7)
            Self.varint(UInt64(container.entries.count), into: &bytes)
            for (key, value) in container.entries {
                Self.string(key, into: &bytes)
                value.write(into: &bytes)
            }
        case .unkeyed(let container):
            bytes.append(8)
            Self.varint(UInt64(container.values.count), into: &bytes)
            for value in container.values { value.write(into: &bytes) }
        }
    }

    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func string(_ value: String, into bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count), into: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }
}

final class KeyedNode {
    var entries: [(String, Node)] = []
    /// Filled when read, for lookups by key.
    var byKey: [String: Node] = [:]
}

final class UnkeyedNode {
    var values: [Node] = []
}

/// Reads a node from bytes, checking every length against what is left.
struct Reader {
    let bytes: [UInt8]
    var offset = 0

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw CompactCoderError("the value ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            let byte = try byte()
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw CompactCoderError("a number longer than 64 bits")
    }

    mutating func count() throws -> Int {
        let count = try varint()
        // Every element takes at least a byte: a count past the bytes left is a lie.
        guard count <= UInt64(bytes.count - offset) else { throw CompactCoderError("a count of \(count) past the end") }
        return Int(count)
    }

    mutating func string() throws -> String {
        let length = try count()
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }

    mutating func node(depth: Int) throws -> Node {
        guard depth < CompactCoder.maxDepth else { throw CompactCoderError("nested more than \(CompactCoder.maxDepth) deep") }
        switch try byte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3:
            let zigzag = try varint()
            return .int(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
        case 4: return .uint(try varint())
        case 5:
            var pattern: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { pattern |= UInt64(try byte()) << UInt64(shift) }
            return .double(Double(bitPattern: pattern))
        case 6: return .string(try string())
        case 7:
            let container = KeyedNode()
            for _ in 0..<(try count()) {
                let key = try string()
                container.byKey[key] = try node(depth: depth + 1)
            }
            return .keyed(container)
        case 8:
            let container = UnkeyedNode()
            for _ in 0..<(try count()) { container.values.append(try node(depth: depth + 1)) }
            return .unkeyed(container)
        case let tag: throw CompactCoderError("unknown tag \(tag)")
        }
    }
}
