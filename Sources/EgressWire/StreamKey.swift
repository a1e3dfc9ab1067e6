/// An RTMP stream URL's key is a secret: whatever echoes a URL (the request in `EgressInfo`, a
/// stream result) shows `{stream_key}` in its place, as LiveKit's egress does.
public enum StreamKey {
    /// `rtmp(s)://host[/path]/app/key[ live=1]` → `.../app/{stream_key}[ live=1]`; other URLs unchanged.
    public static func redacted(_ url: String) -> String {
        let lower = url.lowercased()
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
}
