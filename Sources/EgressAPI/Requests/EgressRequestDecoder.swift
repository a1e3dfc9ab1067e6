import HTTP
import APIMessages
import RPC
import SessionManager
import Support

/// Turns each Start* request into an `EgressSpec`, validating in LiveKit's order: the
/// request's own fields, encoding, outputs, its webhooks, then the room and codec compatibility.
struct EgressRequestDecoder {
    let configuration: EgressAPIConfiguration

    private var outputs: OutputsDecoder {
        OutputsDecoder(outputDirectory: configuration.outputDirectory, defaultUpload: configuration.defaultUpload)
    }

    func participant(_ request: Livekit_ParticipantEgressRequest) throws(RPCError) -> EgressSpec {
        guard !request.identity.isEmpty else { throw RequestErrors.invalidField("identity") }
        let encoding = try EncodingDecoder.decode(request.options.map(EncodingDecoder.Options.init))
        let outputs = try outputs.encodedOutputs(OutputsDecoder.EncodedOutputs(request), recordsVideo: true)
        let spec = EgressSpec(roomName: try roomName(request.roomName),
                              source: .participant(identity: request.identity, screenShare: request.screenShare),
                              encoding: encoding, outputs: outputs, webhooks: try webhooks(request.webhooks))
        try check(spec, videoIsOptional: true)
        return spec
    }

    func trackComposite(_ request: Livekit_TrackCompositeEgressRequest) throws(RPCError) -> EgressSpec {
        let (audio, video) = (request.audioTrackId, request.videoTrackId)
        guard !audio.isEmpty || !video.isEmpty else { throw RequestErrors.invalidField("audio_track_id or video_track_id") }
        let encoding = try EncodingDecoder.decode(request.options.map(EncodingDecoder.Options.init))
        let outputs = try outputs.encodedOutputs(OutputsDecoder.EncodedOutputs(request), recordsVideo: !video.isEmpty)
        let spec = EgressSpec(roomName: try roomName(request.roomName),
                              source: .trackComposite(audioTrackID: audio.isEmpty ? nil : audio, videoTrackID: video.isEmpty ? nil : video),
                              encoding: encoding, outputs: outputs, webhooks: try webhooks(request.webhooks))
        try check(spec, videoIsOptional: false)
        return spec
    }

    func track(_ request: Livekit_TrackEgressRequest) throws(RPCError) -> EgressSpec {
        guard !request.trackId.isEmpty else { throw RequestErrors.invalidField("track_id") }
        let outputs = try outputs.directOutput(request.output)
        let spec = EgressSpec(roomName: try roomName(request.roomName), source: .track(trackID: request.trackId), encoding: .passthrough,
                              outputs: outputs, webhooks: try webhooks(request.webhooks))
        try checkFilledPaths(spec)
        return spec
    }

    /// The unified `StartEgress`: only a media source can be recorded here.
    func unified(_ request: Livekit_StartEgressRequest) throws(RPCError) -> EgressSpec {
        let media: Livekit_MediaSource
        switch request.source {
        case .template?: throw RequestErrors.needsBrowser("template (room composite) egress")
        case .web?: throw RequestErrors.needsBrowser("web egress")
        case .media(let source)?: media = source
        case nil: throw RequestErrors.invalidField("source")
        }
        var video: EgressSpec.VideoSelection?
        switch media.video {
        case .videoTrackId(let id)?:
            guard !id.isEmpty else { throw RequestErrors.invalidField("video_track_id") }
            video = .track(id: id)
        case .participantVideo(let participant)?:
            guard !participant.identity.isEmpty else { throw RequestErrors.invalidField("participant_video.identity") }
            video = .participant(identity: participant.identity, preferScreenShare: participant.preferScreenShare)
        case nil:
            video = nil
        }
        let audio = try audioSelection(media.audio)
        guard video != nil || audio != nil else { throw RequestErrors.invalidField("media", "it selects neither video nor audio") }
        let encoding = try EncodingDecoder.decode(request.encoding.map(EncodingDecoder.Options.init))
        let outputs = try outputs.unifiedOutputs(request.outputs, storage: request.storage, recordsVideo: video != nil)
        let spec = EgressSpec(roomName: try roomName(request.roomName), source: .media(video: video, audio: audio),
                              encoding: encoding, outputs: outputs, webhooks: try webhooks(request.webhooks))
        try check(spec, videoIsOptional: false)
        return spec
    }

    private func audioSelection(_ config: Livekit_AudioConfig?) throws(RPCError) -> EgressSpec.AudioSelection? {
        guard let config else { return nil }
        var routes: [EgressSpec.AudioRoute] = []
        for (i, route) in config.routes.enumerated() {
            let match: EgressSpec.AudioRoute.Match
            switch route.match {
            case .trackId(let id)? where !id.isEmpty: match = .trackID(id)
            case .participantIdentity(let identity)? where !identity.isEmpty: match = .participantIdentity(identity)
            case .participantKind(let kind)?: match = .participantKind(kind.rawValue)
            default: throw RequestErrors.invalidField("audio.routes[\(i)]", "a route matches a track_id, participant_identity or participant_kind")
            }
            guard let channel = EgressSpec.AudioRoute.Channel(rawValue: route.channel.rawValue) else {
                throw RequestErrors.invalidField("audio.routes[\(i)].channel")
            }
            routes.append(EgressSpec.AudioRoute(match: match, channel: channel))
        }
        guard config.captureAll || !routes.isEmpty else { return nil }
        return EgressSpec.AudioSelection(captureAll: config.captureAll, routes: routes)
    }

    private func roomName(_ name: String) throws(RPCError) -> String {
        guard !name.isEmpty else { throw RequestErrors.invalidField("room_name") }
        return name
    }

    /// The request's own webhooks, usable before the egress exists: an http(s) URL each, and a
    /// signing key the server has.
    private func webhooks(_ webhooks: [Livekit_WebhookConfig]) throws(RPCError) -> [RequestWebhook] {
        guard webhooks.count <= RequestWebhook.maxPerRequest else {
            throw RequestErrors.invalidField("webhooks", "\(webhooks.count) webhooks; at most \(RequestWebhook.maxPerRequest) are allowed")
        }
        return try webhooks.enumerated().map { index, webhook throws(RPCError) in
            guard HTTPURL(webhook.url) != nil else {
                throw RequestErrors.invalidField("webhooks[\(index)].url", "\(webhook.url.isEmpty ? "empty" : webhook.url) is not an http:// or https:// URL")
            }
            let key = webhook.signingKey
            guard key.isEmpty || configuration.apiKeys.contains(key) else {
                throw RequestErrors.invalidField("webhooks[\(index)].signing_key", "no API key \(key)")
            }
            return RequestWebhook(url: webhook.url, signingKey: key.isEmpty ? nil : key,
                                  includeEvents: webhook.filterParams?.includeEvents ?? [],
                                  excludeEvents: webhook.filterParams?.excludeEvents ?? [])
        }
    }

    private func check(_ spec: EgressSpec, videoIsOptional: Bool) throws(RPCError) {
        if spec.encoding == .passthrough, spec.outputs.files.count > 1 {
            throw RequestErrors.invalidField("file_outputs", "PASSTHROUGH writes the track as it came into one file; encode to write several")
        }
        if spec.encoding == .passthrough, !spec.outputs.segments.isEmpty {
            throw RequestErrors.invalidField("segment_outputs", "HLS segments are encoded, and PASSTHROUGH encodes nothing; use a preset or advanced options")
        }
        if spec.encoding == .passthrough, !spec.outputs.images.isEmpty {
            throw RequestErrors.invalidField("image_outputs", "images are encoded, and PASSTHROUGH encodes nothing; use a preset or advanced options")
        }
        if spec.encoding == .passthrough, spec.outputs.carriesLiveStream {
            throw RequestErrors.invalidField("stream_outputs", "RTMP and SRT streams are encoded, and PASSTHROUGH encodes nothing; use a preset or advanced options")
        }
        try CodecCompatibility.check(spec.outputs, encoding: spec.encoding, recordsVideo: spec.recordsVideo,
                                     videoIsOptional: videoIsOptional, capabilities: configuration.capabilities)
        try checkFilledPaths(spec)
    }

    /// The output paths with what the request already tells filled in (the room; the
    /// participant or track), checked as the recorder will check them: a room named "." or a
    /// name too long is refused now, not when media arrives.
    func checkFilledPaths(_ spec: EgressSpec) throws(RPCError) {
        var known: [(placeholder: String, value: String)] = [("{room_name}", spec.roomName)]
        switch spec.source {
        case .participant(let identity, _): known.append(("{publisher_identity}", identity))
        case .track(let trackID): known.append(("{track_id}", trackID))
        case .trackComposite, .media: break
        }
        var paths: [(field: String, path: String)] = spec.outputs.files.map { ("filepath", $0.path) }
        for segments in spec.outputs.segments {
            paths += [("filename_prefix", segments.filenamePrefix), ("playlist_name", segments.playlistName),
                      ("live_playlist_name", segments.livePlaylistName)]
        }
        paths += spec.outputs.images.map { ("filename_prefix", $0.filenamePrefix) }
        try checkDistinct(spec.outputs)
        for (field, path) in paths {
            // An empty path, or a directory, gets a default name when the file is made.
            let given = PathText.endsWithSlash(path) ? String(decoding: path.utf8.dropLast(), as: UTF8.self) : path
            guard !given.isEmpty else { continue }
            if case .failure(let problem) = OutputPath.checkFilled(OutputPath.fill(given, with: known), in: configuration.outputDirectory) {
                throw RequestErrors.invalidField(field, problem.description)
            }
        }
    }

    /// Two outputs of one kind may not write the same files: the same file path, segment prefix
    /// or playlist, or the same image prefix (as given; what the templates make is checked again
    /// when they are filled).
    private func checkDistinct(_ outputs: Outputs) throws(RPCError) {
        func check(_ names: [String], field: String) throws(RPCError) {
            var seen = Set<String>()
            for name in names where !name.isEmpty && !PathText.endsWithSlash(name) {
                guard seen.insert(name).inserted else { throw RequestErrors.invalidField(field, "two outputs write \(name)") }
            }
        }
        try check(outputs.files.map(\.path), field: "filepath")
        try check(outputs.segments.map(\.filenamePrefix), field: "filename_prefix")
        // A playlist is written in its prefix's directory: two named alike in two directories differ.
        try check(outputs.segments.flatMap { segments in
            let live = segments.livePlaylistName
            return [SegmentsOutput.playlistPath(named: segments.playlistName, prefix: segments.filenamePrefix),
                    live.isEmpty ? "" : SegmentsOutput.playlistPath(named: live, prefix: segments.filenamePrefix)]
        }, field: "playlist_name")
        try check(outputs.images.map(\.filenamePrefix), field: "filename_prefix")
    }
}
