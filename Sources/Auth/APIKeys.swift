import Support

/// API keys and their secrets, as LiveKit's server takes them: a YAML map of `key: secret`
/// lines (the `LIVEKIT_KEYS` variable, `--keys`, or a key file).
public struct APIKeys: Sendable, Equatable {
    private var secrets: [String: String]

    public init(_ secrets: [String: String]) {
        self.secrets = secrets
    }

    /// Parses `key1: secret1` lines (or `key1: secret1, key2: secret2`); `#` starts a comment.
    public static func parse(_ text: String) throws(AuthError) -> APIKeys {
        var secrets: [String: String] = [:]
        let entries = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).flatMap { line in
            line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.split(separator: ",") } ?? []
        }
        for entry in entries {
            let trimmed = entry.trimmingEnds()
            guard !trimmed.isEmpty else { continue }
            guard let colon = trimmed.firstIndex(of: ":") else { throw .malformed("a key entry has no ':' (\"key: secret\")") }
            let key = unquote(trimmed[..<colon].trimmingEnds())
            let secret = unquote(trimmed[trimmed.index(after: colon)...].trimmingEnds())
            guard !key.isEmpty, !secret.isEmpty else { throw .malformed("a key entry has an empty key or secret") }
            secrets[key] = secret
        }
        guard !secrets.isEmpty else { throw .malformed("no API keys given") }
        return APIKeys(secrets)
    }

    public func secret(for key: String) -> String? { secrets[key] }

    /// Keys whose secret is shorter than 32 characters (worth a warning).
    public var weakKeys: [String] { secrets.filter { $0.value.count < 32 }.map(\.key).sorted() }

    public var keys: [String] { secrets.keys.sorted() }

    /// `devkey: secret`, what LiveKit's `--dev` mode uses.
    public static let development = APIKeys(["devkey": "secret"])

    private static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == text.last, first == "\"" || first == "'" {
            return String(text.dropFirst().dropLast())
        }
        return text
    }
}
