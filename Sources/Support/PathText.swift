/// Paths as the kernel reads them: split at every "/" byte. Swift compares and splits strings
/// by Character, and "/" followed by a combining mark (`"/\u{301}"`) is one Character, so a
/// Character-based split misses a separator that the kernel still sees. Every path check goes
/// through these instead.
public enum PathText {
    private static let slash = UInt8(ascii: "/")

    /// The non-empty components of `path`, split at "/" bytes (each is valid UTF-8: a "/" byte
    /// is never inside a multi-byte sequence).
    public static func components(of path: String) -> [String] {
        path.utf8.split(separator: slash, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `path` starts with "/".
    public static func isAbsolute(_ path: String) -> Bool { path.utf8.first == slash }

    /// Whether `path` ends with "/" (a directory, for a default file name).
    public static func endsWithSlash(_ path: String) -> Bool { path.utf8.last == slash }

    /// Whether a component is "." or "..", byte for byte.
    public static func isDot(_ component: String) -> Bool { component.utf8.elementsEqual(".".utf8) }
    public static func isDotDot(_ component: String) -> Bool { component.utf8.elementsEqual("..".utf8) }

    /// `path` without its last component (and the "/" before it).
    public static func directory(of path: String) -> String {
        guard let last = path.utf8.lastIndex(of: slash) else { return "" }
        return String(decoding: path.utf8[..<last], as: UTF8.self)
    }

    /// The last component of `path` (all of it when it has no "/").
    public static func lastComponent(of path: String) -> String {
        guard let last = path.utf8.lastIndex(of: slash) else { return path }
        return String(decoding: path.utf8[path.utf8.index(after: last)...], as: UTF8.self)
    }
}
