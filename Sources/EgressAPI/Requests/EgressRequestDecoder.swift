import Protobuf
import RPC
import SessionManager
import Support

/// Turns each Start* request into an `EgressSpec`, validating in LiveKit's order: the
/// request's own fields, encoding, outputs, then the room and codec compatibility.
struct EgressRequestDecoder {
    let configuration: EgressAPIConfiguration

    private var outputs: OutputsDecoder { OutputsDecoder(outputDirectory: configuration.outputDirectory) }

    func participant(_ request: ProtoMessage) throws(RPCError) -> EgressSpec {
        let identity = request.string("identity")
        guard !identity.isEmpty else { throw RequestErrors.invalidField("identity") }
        let encoding = try EncodingDecoder.decode(request)
        let outputs = try outputs.encodedOutputs(of: request, recordsVideo: true)
        let spec = EgressSpec(roomName: try roomName(request), source: .participant(identity: identity, screenShare: request.bool("screen_share")),
                              encoding: encoding, outputs: outputs)
        try check(spec, videoIsOptional: true)
        return spec
    }

    func trackComposite(_ request: ProtoMessage) throws(RPCError) -> EgressSpec {
        let audio = request.string("audio_track_id")
        let video = request.string("video_track_id")
        guard !audio.isEmpty || !video.isEmpty else { throw RequestErrors.invalidField("audio_track_id or video_track_id") }
        let encoding = try EncodingDecoder.decode(request)
        let outputs = try outputs.encodedOutputs(of: request, recordsVideo: !video.isEmpty)
        let spec = EgressSpec(roomName: try roomName(request),
                              source: .trackComposite(audioTrackID: audio.isEmpty ? nil : audio, videoTrackID: video.isEmpty ? nil : video),
                              encoding: encoding, outputs: outputs)
        try check(spec, videoIsOptional: false)
        return spec
    }

    func track(_ request: ProtoMessage) throws(RPCError) -> EgressSpec {
        let trackID = request.string("track_id")
        guard !trackID.isEmpty else { throw RequestErrors.invalidField("track_id") }
        let outputs = try outputs.directOutput(of: request)
        let spec = EgressSpec(roomName: try roomName(request), source: .track(trackID: trackID), encoding: .passthrough, outputs: outputs)
        try checkFilledPaths(spec)
        return spec
    }

    /// The unified `StartEgress`: only a media source can be recorded here.
    func unified(_ request: ProtoMessage) throws(RPCError) -> EgressSpec {
        switch request.oneofCase(containing: "media") {
        case "template"?: throw RequestErrors.needsBrowser("template (room composite) egress")
        case "web"?: throw RequestErrors.needsBrowser("web egress")
        case "media"?: break
        default: throw RequestErrors.invalidField("source")
        }
        let media = request.message("media")!
        var video: EgressSpec.VideoSelection?
        switch media.oneofCase(containing: "video_track_id") {
        case "video_track_id"?:
            let id = media.string("video_track_id")
            guard !id.isEmpty else { throw RequestErrors.invalidField("video_track_id") }
            video = .track(id: id)
        case "participant_video"?:
            let participant = media.message("participant_video")!
            guard !participant.string("identity").isEmpty else { throw RequestErrors.invalidField("participant_video.identity") }
            video = .participant(identity: participant.string("identity"), preferScreenShare: participant.bool("prefer_screen_share"))
        default:
            video = nil
        }
        let audio = try audioSelection(media.message("audio"))
        guard video != nil || audio != nil else { throw RequestErrors.invalidField("media", "it selects neither video nor audio") }
        let encoding = try EncodingDecoder.decode(request)
        let outputs = try outputs.unifiedOutputs(of: request, recordsVideo: video != nil)
        let spec = EgressSpec(roomName: try roomName(request), source: .media(video: video, audio: audio),
                              encoding: encoding, outputs: outputs)
        try check(spec, videoIsOptional: false)
        return spec
    }

    private func audioSelection(_ config: ProtoMessage?) throws(RPCError) -> EgressSpec.AudioSelection? {
        guard let config else { return nil }
        var routes: [EgressSpec.AudioRoute] = []
        for (i, route) in config.messages("routes").enumerated() {
            let match: EgressSpec.AudioRoute.Match
            switch route.oneofCase(containing: "track_id") {
            case "track_id"? where !route.string("track_id").isEmpty: match = .trackID(route.string("track_id"))
            case "participant_identity"? where !route.string("participant_identity").isEmpty:
                match = .participantIdentity(route.string("participant_identity"))
            case "participant_kind"?: match = .participantKind(route.enumNumber("participant_kind"))
            default: throw RequestErrors.invalidField("audio.routes[\(i)]", "a route matches a track_id, participant_identity or participant_kind")
            }
            guard let channel = EgressSpec.AudioRoute.Channel(rawValue: route.enumNumber("channel")) else {
                throw RequestErrors.invalidField("audio.routes[\(i)].channel")
            }
            routes.append(EgressSpec.AudioRoute(match: match, channel: channel))
        }
        guard config.bool("capture_all") || !routes.isEmpty else { return nil }
        return EgressSpec.AudioSelection(captureAll: config.bool("capture_all"), routes: routes)
    }

    private func roomName(_ request: ProtoMessage) throws(RPCError) -> String {
        let name = request.string("room_name")
        guard !name.isEmpty else { throw RequestErrors.invalidField("room_name") }
        return name
    }

    private func check(_ spec: EgressSpec, videoIsOptional: Bool) throws(RPCError) {
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
        var paths: [(field: String, path: String)] = []
        if let file = spec.outputs.file { paths.append(("filepath", file.path)) }
        if let segments = spec.outputs.segments {
            paths += [("filename_prefix", segments.filenamePrefix), ("playlist_name", segments.playlistName),
                      ("live_playlist_name", segments.livePlaylistName)]
        }
        paths += spec.outputs.images.map { ("filename_prefix", $0.filenamePrefix) }
        for (field, path) in paths {
            // An empty path, or a directory, gets a default name when the file is made.
            let given = PathText.endsWithSlash(path) ? String(decoding: path.utf8.dropLast(), as: UTF8.self) : path
            guard !given.isEmpty else { continue }
            if case .failure(let problem) = OutputPath.checkFilled(OutputPath.fill(given, with: known), in: configuration.outputDirectory) {
                throw RequestErrors.invalidField(field, problem.description)
            }
        }
    }
}
