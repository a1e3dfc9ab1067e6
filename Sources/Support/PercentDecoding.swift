/// %XX escapes, as URLs and query strings carry them.
public enum PercentDecoding {
    /// `text` with its %XX escapes decoded; nil when an escape is malformed or the result is not
    /// UTF-8.
    public static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
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
