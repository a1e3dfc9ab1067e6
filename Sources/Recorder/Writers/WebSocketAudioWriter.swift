import HTTP
import Media
import RTP
import SessionManager
import Support

/// A Track egress to a WebSocket (`websocket_url`): the audio track decoded and sent as raw PCM
/// (`WebSocketPCMOutput`), at the pace of the recording (silence where nothing came: a gap, or
/// the track muted). The egress ends when the track does (a normal close) or when the server
/// closes the socket.
final class WebSocketAudioWriter: MediaWriter {
    private let output: WebSocketPCMOutput
    private var decoder: Decoder?
    private let resampler = AudioResampler(sampleRate: WebSocketPCMOutput.sampleRate)
    private var timeline = AudioTimeline(rate: WebSocketPCMOutput.sampleRate)
    /// Sample frames sent so far.
    private var sent: Int64 = 0

    /// Connects to `url` (blocking the recording's thread until the handshake is done).
    init(url: String) throws {
        output = WebSocketPCMOutput(id: "", url: url)
        if let failure = output.failure { throw RecorderError(failure, code: HTTPURL(url) == nil ? 400 : 503) }
    }

    var files: [(target: ConfinedPath, file: ConfinedFile?)] { [] }
    var file: ConfinedFile? { nil }
    var bytesWritten: Int64 { sent * 4 }
    var duration: Int64 { sent.rescaled(by: 1_000_000_000, over: Int64(WebSocketPCMOutput.sampleRate)) ?? .max }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        throw RecorderError("a WebSocket takes an audio track, and this one is video", code: 400)
    }

    func audio(_ frame: EncodedFrame, track: String, channel: EgressSpec.AudioRoute.Channel, at position: Int64) throws {
        if decoder == nil { decoder = try Decoder(.opus) }
        guard let decoder else { return }
        for decoded in decoder.decode(frame.data, pts: position) {
            timeline.place(try resampler.convert(decoded), at: decoded.pts)
        }
    }

    func removeAudio(track: String) {}

    func muteChanged(_ muted: Bool) throws {
        try output.muteChanged(muted)
    }

    func advance(to position: Int64, visibility: VideoVisibility) throws {
        let frames = WebSocketPCMOutput.messageFrames
        let target = position.rescaled(by: Int64(WebSocketPCMOutput.sampleRate), over: 1_000_000_000) ?? sent
        while sent + Int64(frames) <= target {
            try output.send(pcm: timeline.take(frames)[...])
            sent += Int64(frames)
        }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        defer { output.close() }
        if output.isOpen { try advance(to: position, visibility: visibility) }
    }
}
