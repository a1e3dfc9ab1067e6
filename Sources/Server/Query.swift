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
    static func percentDecoded(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(HexDigit.value(of:)), let low = iterator.next().flatMap(HexDigit.value(of:)) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
