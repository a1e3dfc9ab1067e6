/// An RTMP stream URL's key is a secret: whatever echoes a URL (the request in `EgressInfo`, a
/// stream result, the log) shows `{stream_key}` in its place, as LiveKit's egress does. So are an
/// SRT URL's `passphrase` and the query of a WebSocket URL (where a token usually goes).
public enum StreamKey {
    /// `rtmp(s)://host[/path]/app/key[ live=1]` → `.../app/{stream_key}[ live=1]`;
    /// `mux://key` → `mux://{stream_key}` (and `twitch://`); `srt://…?passphrase=p` →
    /// `…?passphrase={passphrase}`; `ws(s)://host/path?token=t&lang=en` →
    /// `…?token={token}&lang={lang}`; other URLs unchanged.
    public static func redacted(_ url: String) -> String {
        let lower = url.lowercased()
        if lower.hasPrefix("srt://") { return redactingQuery(url, only: ["passphrase"]) }
        if lower.hasPrefix("ws://") || lower.hasPrefix("wss://") { return redactingQuery(url, only: nil) }
        for scheme in shortcutSchemes where lower.hasPrefix(scheme + "://") {
            return scheme + "://{stream_key}"
        }
        guard lower.hasPrefix("rtmp://") || lower.hasPrefix("rtmps://") else { return url }
        var body = Substring(url)
        var suffix = ""
        if body.hasSuffix(" live=1") {
            body = body.dropLast(7)
            suffix = " live=1"
        }
        let slashes = body.indices.filter { body[$0] == "/" }
        // Two for "://", then at least the app's and the key's.
        guard slashes.count >= 4, let lastSlash = slashes.last,
              body.index(after: lastSlash) < body.endIndex else { return url }
        return body[...lastSlash] + "{stream_key}" + suffix
    }

    /// The URL with the values of its query parameters named `only` (every one when nil)
    /// replaced by `{name}`.
    static func redactingQuery(_ url: String, only names: Set<String>?) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        var query = url[url.index(after: question)...]
        var fragment = ""
        if let hash = query.firstIndex(of: "#") {
            fragment = String(query[hash...])
            query = query[..<hash]
        }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            guard names.map({ $0.contains(name.lowercased()) }) ?? true else { return String(pair) }
            // The name goes in braces as it came; one that is not plain text is not repeated.
            let shown = name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ? String(name) : "redacted"
            return "\(name)={\(shown)}"
        }
        return url[...question] + pairs.joined(separator: "&") + fragment
    }

    /// LiveKit's shortcuts for two services, whose stream key is the "host".
    static let shortcutSchemes = ["mux", "twitch"]

    /// A shortcut made a URL to connect to, as LiveKit expands them: `mux://<key>` →
    /// `rtmps://global-live.mux.com:443/app/<key>`, `twitch://<key>` →
    /// `rtmp://live.twitch.tv/app/<key>` (Twitch's global ingest); any other URL as it is.
    public static func expanded(_ url: String) -> String {
        let lower = url.lowercased()
        if lower.hasPrefix("mux://") { return "rtmps://global-live.mux.com:443/app/" + url.dropFirst("mux://".count) }
        if lower.hasPrefix("twitch://") { return "rtmp://live.twitch.tv/app/" + url.dropFirst("twitch://".count) }
        return url
    }

    /// Whether an RTMP URL names an app and a stream key after its host, as publishing needs.
    public static func hasAppAndKey(_ url: String) -> Bool {
        redacted(url) != url
    }
}
