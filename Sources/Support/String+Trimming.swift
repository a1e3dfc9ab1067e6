extension Substring {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace). The
    /// ends are found in the UTF-8 bytes: only they are looked at (a long token costs two
    /// comparisons, not a walk through its Characters), and a space followed by a combining mark
    /// is still a space, where among Characters the two would be one.
    public func trimmingEnds() -> String {
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
              let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

extension String {
    /// The text without leading and trailing spaces and tabs (see `Substring.trimmingEnds`).
    public func trimmingEnds() -> String { self[...].trimmingEnds() }
}
