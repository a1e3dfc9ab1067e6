import Support

/// A request target's query parameters, percent-decoded (`+` as a space); the first of a name wins.
struct Query {
    private var values: [String: String] = [:]

    init(_ target: String) {
        guard let mark = target.firstIndex(of: "?") else { return }
        for pair in target[target.index(after: mark)...].split(separator: "&").prefix(32) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.percentDecoded(parts[0]), values[name] == nil else { continue }
            let raw = parts.count > 1 ? Substring(String(parts[1].map { $0 == "+" ? " " : $0 })) : ""
            if let value = Self.percentDecoded(raw) { values[name] = value }
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// A path segment with its %XX escapes decoded; nil when an escape is malformed or the
    /// result is not UTF-8.
    static func percentDecoded(_ segment: Substring) -> String? { PercentDecoding.decode(segment) }

    /// `text` as one path segment: every byte but RFC 3986's unreserved ones as %XX.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
