import APIMessages
import Media
import RPC
import SessionManager
import Testing
@testable import EgressAPI

@Suite struct EgressRequestDecoderTests {
    let decoder = EgressRequestDecoder(configuration: EgressAPIConfiguration(
        outputDirectory: "/srv/rec",
        capabilities: MediaCapabilities(muxers: ["mp4", "ogg", "mp3", "webm", "hls", "flv", "mpegts"],
                                        encoders: ["libx264", "aac", "libopus", "libvpx", "mjpeg", "libmp3lame"], versions: ""),
        apiKeys: ["devkey"]))

    func participant(_ edit: (inout Livekit_ParticipantEgressRequest) -> Void = { _ in }) -> Livekit_ParticipantEgressRequest {
        var file = Livekit_EncodedFileOutput()
        file.filepath = "rec/{room_name}.mp4"
        var request = Livekit_ParticipantEgressRequest()
        request.roomName = "lobby"
        request.identity = "alice"
        request.fileOutputs = [file]
        edit(&request)
        return request
    }

    @Test func aParticipantRequestBecomesASpec() throws {
        let spec = try decoder.participant(participant { $0.screenShare = true })
        #expect(spec.roomName == "lobby")
        #expect(spec.source == .participant(identity: "alice", screenShare: true))
        #expect(spec.encoding == .transcode(.default))
        #expect(spec.outputs.files == [FileOutput(fileType: nil, path: "rec/{room_name}.mp4", disableManifest: false)])
    }

    @Test(arguments: [(Int32(1), 1280, 720, 60, 4500), (4, 720, 1280, 30, 3000), (7, 1080, 1920, 60, 6000)])
    func presetsResolveToLiveKitsSettings(preset: Int32, width: Int32, height: Int32, fps: Int32, kbps: Int32) throws {
        let spec = try decoder.participant(participant { $0.options = .preset(.init(rawValue: preset)) })
        guard case .transcode(let settings) = spec.encoding else { Issue.record("not transcoded"); return }
        #expect((settings.width, settings.height, settings.framerate, settings.videoBitrate) == (width, height, fps, kbps))
    }

    @Test func passthroughIsNotTranscoded() throws {
        #expect(try decoder.participant(participant { $0.options = .preset(.passthrough) }).encoding == .passthrough)
    }

    @Test func validationFollowsLiveKitsOrder() {
        // Both identity and room_name are missing: identity is named first, as LiveKit does.
        #expect(throws: RPCError.invalidArgument("request has missing or invalid field: identity")) {
            try decoder.participant(participant { $0.identity = ""; $0.roomName = "" })
        }
        #expect(throws: RPCError.invalidArgument("request has missing or invalid field: output")) {
            try decoder.participant(participant { $0.fileOutputs = []; $0.roomName = "" })
        }
    }

    @Test func theDeprecatedSingleFileOutputStillCounts() throws {
        var request = Livekit_TrackCompositeEgressRequest()
        request.roomName = "r"
        request.audioTrackId = "TR_a"
        var file = Livekit_EncodedFileOutput()
        file.filepath = "old.ogg"
        file.fileType = .ogg
        request.output = .file(file)
        let spec = try decoder.trackComposite(request)
        #expect(spec.outputs.files.first?.fileType == .ogg)
        #expect(spec.recordsVideo == false)
    }

    @Test func aMissingMuxerIsUnimplemented() {
        let poor = EgressRequestDecoder(configuration: EgressAPIConfiguration(
            outputDirectory: "/srv/rec", capabilities: MediaCapabilities(muxers: ["ogg"], encoders: [], versions: ""), apiKeys: []))
        #expect(throws: RPCError.unimplemented("video/mp4 output needs FFmpeg's mp4 muxer, which this server's FFmpeg lacks")) {
            try poor.participant(participant())
        }
    }

    @Test func aMissingEncoderIsUnimplementedButPassthroughNeedsNone() throws {
        let noX264 = EgressRequestDecoder(configuration: EgressAPIConfiguration(
            outputDirectory: "/srv/rec", capabilities: MediaCapabilities(muxers: ["mp4"], encoders: ["aac"], versions: ""), apiKeys: []))
        #expect(throws: RPCError.unimplemented("video/h264 encoding needs FFmpeg's libx264 encoder, which this server's FFmpeg lacks")) {
            try noX264.participant(participant())
        }
        #expect(try noX264.participant(participant { $0.options = .preset(.passthrough) }).encoding == .passthrough)
    }

    @Test func theLinkedFFmpegCanEncodeEverythingTheAPIOffers() {
        let probed = MediaCapabilities.probe()
        #expect(probed.encoders == Set(MediaCapabilities.wanted.encoders))
        #expect(probed.muxers == Set(MediaCapabilities.wanted.muxers))
    }

    @Test func trackEgressTakesADirectFileOrAWebsocket() throws {
        var request = Livekit_TrackEgressRequest()
        request.roomName = "r"
        request.trackId = "TR_1"
        request.output = .websocketUrl("ws://127.0.0.1:9/audio")
        #expect(try decoder.track(request).outputs.websocketURL == "ws://127.0.0.1:9/audio")
        request.output = .websocketUrl("http://nope")
        #expect(throws: RPCError(.invalidArgument, "request has missing or invalid field: websocket_url (http://nope is not a ws/wss://... url)")) {
            try decoder.track(request)
        }
    }
}
