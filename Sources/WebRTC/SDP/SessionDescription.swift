/// An SDP document (RFC 8866) as lines read into a session part and media sections; nothing of
/// what they mean. Every size and count is bounded: an offer is text from the network.
public struct SessionDescription: Sendable, Equatable {
    /// One `m=` section: its `m=` line's fields and the attribute lines under it.
    public struct Media: Sendable, Equatable {
        public var kind: String
        public var port: Int
        public var proto: String
        public var formats: [String]
        public var attributes: [Attribute]

        /// The values of every `a=name:value` line of the name.
        public func values(_ name: String) -> [Substring] { attributes.filter { $0.name == name }.compactMap(\.value) }
        public func value(_ name: String) -> Substring? { values(name).first }
        public func has(_ name: String) -> Bool { attributes.contains { $0.name == name } }
    }

    public struct Attribute: Sendable, Equatable {
        public var name: String
        public var value: Substring?
    }

    public var attributes: [Attribute]
    public var media: [Media]

    public func value(_ name: String) -> Substring? { attributes.first { $0.name == name }?.value }

    public static let maxSize = 64 * 1024
    public static let maxLines = 4096
    public static let maxLineLength = 4096
    public static let maxMediaSections = 16

    /// Reads an SDP document; throws naming the line that does not read.
    public init(parsing text: String) throws(SDPError) {
        guard text.utf8.count <= Self.maxSize else { throw SDPError("the SDP is \(text.utf8.count) bytes; at most \(Self.maxSize) are read") }
        var attributes: [Attribute] = []
        var media: [Media] = []
        var sawVersion = false
        var count = 0
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            guard !line.isEmpty else { continue }
            count += 1
            guard count <= Self.maxLines else { throw SDPError("the SDP has more than \(Self.maxLines) lines") }
            guard line.utf8.count <= Self.maxLineLength else { throw SDPError("line \(count) is longer than \(Self.maxLineLength) bytes") }
            let bytes = line.utf8
            guard bytes.count >= 2, let type = bytes.first, bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "="),
                  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(type) else {
                throw SDPError("line \(count) is not of the form <type>=<value>: \(Self.excerpt(line))")
            }
            let value = line.dropFirst(2)
            if !sawVersion {
                guard type == UInt8(ascii: "v"), value == "0" else { throw SDPError("an SDP starts with v=0") }
                sawVersion = true
                continue
            }
            switch type {
            case UInt8(ascii: "m"):
                guard media.count < Self.maxMediaSections else { throw SDPError("the SDP has more than \(Self.maxMediaSections) media sections") }
                media.append(try Self.media(value, line: count))
            case UInt8(ascii: "a"):
                let attribute: Attribute
                if let colon = value.firstIndex(of: ":") {
                    attribute = Attribute(name: String(value[..<colon]), value: value[value.index(after: colon)...])
                } else {
                    attribute = Attribute(name: String(value), value: nil)
                }
                if media.isEmpty { attributes.append(attribute) } else { media[media.count - 1].attributes.append(attribute) }
            default:
                continue  // o=, s=, t=, c=, b=…: nothing here depends on them
            }
        }
        guard sawVersion else { throw SDPError("the SDP is empty") }
        self.attributes = attributes
        self.media = media
    }

    private static func media(_ value: Substring, line: Int) throws(SDPError) -> Media {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3, let port = Int(fields[1].split(separator: "/").first ?? ""), (0...65_535).contains(port) else {
            throw SDPError("line \(line): an m= line is <media> <port> <proto> <fmt>…: \(excerpt(value))")
        }
        return Media(kind: String(fields[0]), port: port, proto: String(fields[2]), formats: fields.dropFirst(3).map(String.init), attributes: [])
    }

    static func excerpt(_ text: Substring) -> String {
        let cut = text.prefix(60)
        return String(cut) + (cut.count < text.count ? "…" : "")
    }
}

/// An offer that cannot be answered, with what is wrong with it.
public struct SDPError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}
