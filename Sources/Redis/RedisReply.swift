/// A Redis reply (RESP2): bulk strings are bytes, binary-safe.
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error reply (kept as a value inside EXEC's array; a top-level one is thrown).
    case error(String)

    /// The most a converted reply may hold: bytes of strings and number of elements. Redis is
    /// trusted infrastructure, yet a reply is still checked before it becomes Swift values.
    public static let maxBytes = 256 << 20
    public static let maxElements = 4_000_000

    /// A bulk or status string as text.
    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var elements: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The integer this reply holds, or `unexpectedReply` naming what came instead.
    public func expectInteger() throws(RedisError) -> Int64 {
        guard let value = integer else { throw .unexpectedReply("expected an integer, got \(summary)") }
        return value
    }

    /// The elements of this array reply, or `unexpectedReply`.
    public func expectArray() throws(RedisError) -> [RedisReply] {
        guard let elements else { throw .unexpectedReply("expected an array, got \(summary)") }
        return elements
    }

    /// A short description for errors (never a whole value: it may hold credentials).
    var summary: String {
        switch self {
        case .string(let bytes): "a string of \(bytes.count) bytes"
        case .status(let text): "status \(text.prefix(32))"
        case .integer(let value): "integer \(value)"
        case .array(let elements): "an array of \(elements.count)"
        case .null: "nil"
        case .error(let message): "error \(message.prefix(64))"
        }
    }
}
