/// An RTMP stream URL's key is a secret: whatever echoes a URL (the request in `EgressInfo`, a
/// stream result) shows `{stream_key}` in its place, as LiveKit's egress does.
public enum StreamKey {
    /// `rtmp(s)://host[/path]/app/key[ live=1]` → `.../app/{stream_key}[ live=1]`;
    /// `mux://key` → `mux://{stream_key}` (and `twitch://`); other URLs unchanged.
    public static func redacted(_ url: String) -> String {
        let lower = url.lowercased()
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
