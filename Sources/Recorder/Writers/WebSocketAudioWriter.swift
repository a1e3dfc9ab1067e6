import HTTP
import Media
import RTP
import SessionManager
import Support

/// A Track egress to a WebSocket (`websocket_url`), as LiveKit's sends it: the audio track
/// decoded to raw PCM — signed 16-bit little-endian, 48 kHz, stereo, interleaved — in binary
/// messages of 10 ms (1,920 bytes), at the pace of the recording (silence where nothing came:
/// a gap, or the track muted), and the text messages `{"muted":true}` / `{"muted":false}` when
/// the track is muted and unmuted. The egress ends when the track does (a normal close) or
/// when the server closes the socket.
final class WebSocketAudioWriter: MediaWriter {
    static let sampleRate: Int32 = 48_000
    /// Sample frames per message: 10 ms.
    static let messageFrames = 480

    private let socket: WebSocketClient
    private let label: String
    private var decoder: Decoder?
    private let resampler = AudioResampler(sampleRate: sampleRate)
    private var timeline = AudioTimeline(rate: sampleRate)
    /// Sample frames sent so far.
    private var sent: Int64 = 0
    private var muted = false

    /// Connects to `url` (blocking the recording's thread until the handshake is done).
    init(url: String) throws {
        guard let parsed = HTTPURL(url) else { throw RecorderError("websocket_url \(url) is not a ws:// or wss:// URL", code: 400) }
        label = "WebSocket \(parsed.description)"
        do {
            socket = try WebSocketClient.connect(to: parsed, headers: [("Content-Type", "audio/x-raw")])
        } catch {
            throw RecorderError("\(error)", code: 503)
        }
    }

    var target: ConfinedPath? { nil }
    var file: ConfinedFile? { nil }
    var bytesWritten: Int64 { sent * 4 }
    var duration: Int64 { sent.rescaled(by: 1_000_000_000, over: Int64(Self.sampleRate)) ?? .max }

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
        guard muted != self.muted else { return }
        self.muted = muted
        try send(.text(muted ? #"{"muted":true}"# : #"{"muted":false}"#))
    }

    func advance(to position: Int64, visibility: VideoVisibility) throws {
        let target = position.rescaled(by: Int64(Self.sampleRate), over: 1_000_000_000) ?? sent
        while sent + Int64(Self.messageFrames) <= target {
            let pcm = Self.pcm16(timeline.take(Self.messageFrames))
            try send(.binary(pcm))
            sent += Int64(Self.messageFrames)
        }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        defer { socket.close() }
        if socket.closedReason == nil { try advance(to: position, visibility: visibility) }
    }

    private enum Message {
        case text(String)
        case binary([UInt8])
    }

    /// Sends, turning the server's close into the end of the egress (not a failure).
    private func send(_ message: Message) throws {
        if let reason = socket.closedReason, reason.hasPrefix("the WebSocket server closed") { throw OutputClosed(reason: reason) }
        do {
            switch message {
            case .text(let text): try socket.send(text: text)
            case .binary(let bytes): try socket.send(binary: bytes)
            }
        } catch {
            throw RecorderError("\(label): \(error)", code: 503)
        }
    }

    /// Float samples as signed 16-bit little-endian, clipped.
    static func pcm16(_ samples: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (index, sample) in samples.enumerated() {
            let value = Int16((min(1, max(-1, sample)) * 32767).rounded())
            bytes[2 * index] = UInt8(truncatingIfNeeded: value)
            bytes[2 * index + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        return bytes
    }
}

/// An output's receiver ended it (a WebSocket server closed the socket): the egress ends with
/// this reason, keeping what was sent.
struct OutputClosed: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
