import APIMessages
import EgressWire
import Logging
import Protobuf
import SessionManager
import Testing

@Suite struct EgressInfoEncoderTests {
    @Test func aRecordEncodesAsEgressInfoWithTheEchoedRequest() async throws {
        let sessions = EgressStore(backend: NoMediaSourceBackend(), logger: Logger(label: "test"))
        var request = ProtoMessage("livekit.TrackEgressRequest")
        request.set("room_name", "lobby")
        request.set("track_id", "TR_1")
        let spec = EgressSpec(roomName: "lobby", source: .track(trackID: "TR_1"), encoding: .passthrough,
                              outputs: Outputs(files: [FileOutput(fileType: nil, path: "", disableManifest: false)]))
        let record = try await sessions.start(spec, request: .init(kind: .track, encoded: request.encoded()))
        let info = try ProtoMessage(decoding: Livekit_EgressInfo(record).wireBytes(), as: ProtoMessage("livekit.EgressInfo").descriptor)
        #expect(info.string("egress_id") == record.id)
        #expect(info.string("room_name") == "lobby")
        #expect(info.enumName("status") == "EGRESS_STARTING")
        #expect(info.enumName("source_type") == "EGRESS_SOURCE_TYPE_SDK")
        #expect(info.int64("started_at") == record.startedAt)
        #expect(info.message("track") == request)
        #expect(info.oneofCase(containing: "participant") == "track")
    }

    @Test(arguments: [
        ("rtmp://live.example.com/app/sk_123", "rtmp://live.example.com/app/{stream_key}"),
        ("rtmps://a.b/x/y/key live=1", "rtmps://a.b/x/y/{stream_key} live=1"),
        ("rtmp://host/app", "rtmp://host/app"),
        ("srt://host:9000", "srt://host:9000"),
        ("mux://sk_123", "mux://{stream_key}"),
        ("TWITCH://live_123", "twitch://{stream_key}"),
        ("srt://host:9000?streamid=room&passphrase=hunter2hunter2", "srt://host:9000?streamid=room&passphrase={passphrase}"),
        ("SRT://host:9000?PassPhrase=x#f", "SRT://host:9000?PassPhrase={PassPhrase}#f"),
        ("wss://asr.example/v1?token=abc&lang=en", "wss://asr.example/v1?token={token}&lang={lang}"),
        ("ws://h/p?a%20b=1&flag", "ws://h/p?a%20b={redacted}&flag"),
        ("ws://h/p", "ws://h/p"),
    ])
    func streamSecretsAreRedacted(url: String, redacted: String) {
        #expect(StreamKey.redacted(url) == redacted)
    }

    @Test func shortcutsExpandAsLiveKitsDo() {
        #expect(StreamKey.expanded("mux://sk_123") == "rtmps://global-live.mux.com:443/app/sk_123")
        #expect(StreamKey.expanded("twitch://live_1") == "rtmp://live.twitch.tv/app/live_1")
        #expect(StreamKey.expanded("rtmp://h/app/k") == "rtmp://h/app/k")
        #expect(StreamKey.redacted(StreamKey.expanded("mux://sk_123")) == "rtmps://global-live.mux.com:443/app/{stream_key}")
    }
}
