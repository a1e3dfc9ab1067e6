import Support

/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`, as
/// Redis's own tools and LiveKit's configs write it. Every part is checked; the password is never
/// part of the description.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?

    public static let defaultPort = 6379
    static let maxLength = 2048

    public init(host: String, port: Int = defaultPort, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses a `redis://` URL; throws a message naming what is wrong.
    public init(url: String) throws(RedisEndpointError) {
        guard url.utf8.count <= Self.maxLength else { throw RedisEndpointError("the Redis URL is longer than \(Self.maxLength) bytes") }
        if url.hasPrefix("rediss://") {
            throw RedisEndpointError("rediss:// (TLS) is not supported: this build's hiredis (0.14, Debian 12) has no TLS; reach Redis over a private network or a local TLS tunnel")
        }
        guard url.hasPrefix("redis://") else { throw RedisEndpointError("\"\(Self.redacted(url))\" is not a redis:// URL") }
        var rest = Substring(url.dropFirst("redis://".count))
        // The credentials first (up to the last "@"), so that nothing of them is ever echoed.
        var username: String?, password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user, "user name")
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], "password")
            } else {
                password = try Self.percentDecoded(credentials, "password")  // redis://secret@host, as redis-cli reads it
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), (0...100_000).contains(number) else {
                    throw RedisEndpointError("the Redis database \"\(path.prefix(32))\" is not a number from 0 to 100000")
                }
                database = number
            }
        }
        var host = rest, port = Self.defaultPort
        if rest.hasPrefix("[") {  // [IPv6]:port
            guard let close = rest.firstIndex(of: "]") else { throw RedisEndpointError("the Redis host \"\(rest.prefix(64))\" has no closing ]") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisEndpointError("unexpected \"\(after.prefix(32))\" after the Redis host") }
                port = try Self.port(after.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...])
        }
        guard !host.isEmpty else { throw RedisEndpointError("the Redis URL names no host") }
        guard host.utf8.allSatisfy({ byte in (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || Array(".-_:".utf8).contains(byte) }),
              host.utf8.count <= 253 else {
            throw RedisEndpointError("the Redis host \"\(host.prefix(64))\" is not a host name or address")
        }
        self.init(host: String(host), port: port, database: database, username: username, password: password)
    }

    public var description: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(credentials)\(host):\(port)/\(database)"
    }

    private static func port(_ text: Substring) throws(RedisEndpointError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisEndpointError("the Redis port \"\(text.prefix(16))\" is not from 1 to 65535")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring, _ what: String) throws(RedisEndpointError) -> String {
        guard let decoded = PercentDecoding.decode(text) else { throw RedisEndpointError("the Redis \(what) has a bad %-escape or is not UTF-8") }
        return decoded
    }

    /// A URL for messages, anything before its last "@" (credentials) hidden.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return String(url.prefix(128)) }
        let scheme = url.firstRange(of: "://").map { String(url[..<$0.upperBound]) } ?? ""
        return String((scheme + "***" + url[at...]).prefix(128))
    }
}

public struct RedisEndpointError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
