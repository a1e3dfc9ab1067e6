import Protobuf

/// What is echoed back of a request loses its secrets, as LiveKit's egress does: the key of an
/// RTMP stream URL becomes `{stream_key}`.
enum Redaction {
    static func redacted(_ request: ProtoMessage) -> ProtoMessage {
        var request = request
        for field in ["stream_outputs", "outputs"] where request.descriptor.field(named: field) != nil {
            let items = request.messages(field).map(redactStreams)
            if !items.isEmpty { request.set(field, items) }
        }
        if request.descriptor.field(named: "stream") != nil, let stream = request.message("stream") {
            request.set("stream", redactStreams(stream))
        }
        return request
    }

    private static func redactStreams(_ message: ProtoMessage) -> ProtoMessage {
        var message = message
        if message.descriptor.fullName == "livekit.Output", let stream = message.message("stream") {
            message.set("stream", redactStreams(stream))
            return message
        }
        guard message.descriptor.fullName == "livekit.StreamOutput" else { return message }
        if message.has("urls") { message.set("urls", message.strings("urls").map(redactStreamKey)) }
        let destinations = message.messages("destinations").map { destination in
            var destination = destination
            destination.set("url", redactStreamKey(destination.string("url")))
            return destination
        }
        if !destinations.isEmpty { message.set("destinations", destinations) }
        return message
    }

    /// `rtmp(s)://host[/path]/app/key[ live=1]` → `.../app/{stream_key}[ live=1]`.
    static func redactStreamKey(_ url: String) -> String {
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
