import HTTP
import SessionManager
import Support

/// Audio to a WebSocket as LiveKit's egress sends it: raw PCM — signed 16-bit little-endian,
/// 48 kHz, stereo, interleaved — in binary messages of 10 ms (1,920 bytes), and the text
/// messages `{"muted":true}` / `{"muted":false}` when the recorded track is muted and unmuted.
/// Used by a Track egress's `websocket_url` and by `stream_outputs` over WEBSOCKET (the mix of
/// a Participant or TrackComposite egress).
final class WebSocketPCMOutput {
    static let sampleRate: Int32 = 48_000
    /// Sample frames per message: 10 ms.
    static let messageFrames = 480

    let url: String
    let label: String
    private let socket: WebSocketClient?
    private var result: StreamResult
    private var muted = false
    private var closed = false

    /// Connects to `url` (blocking the recording's thread until the handshake is done, at most
    /// 10 s). One that cannot connect is a failed output: `failure` says why.
    init(id: String, url: String) {
        self.url = url
        result = StreamResult(id: id, url: url)
        // The URL's query may hold a token: only where it goes is named.
        guard let parsed = HTTPURL(url) else {
            label = "WebSocket"
            socket = nil
            fail("not a ws:// or wss:// URL")
            return
        }
        label = "WebSocket \(parsed.host):\(parsed.port)"
        do {
            socket = try WebSocketClient.connect(to: parsed, headers: [("Content-Type", "audio/x-raw")])
            result.startedAt = WallClock.nanoseconds()
        } catch {
            socket = nil
            fail("\(error)")
        }
    }

    /// Why it cannot be written to, if it failed.
    var failure: String? { result.status == .failed ? result.error : nil }
    /// Whether it can still be written to (not failed, not closed by either end).
    var isOpen: Bool { socket != nil && !closed && socket?.closedReason == nil }

    /// One message of PCM: `samples` interleaved stereo floats. Throws `OutputClosed` when the
    /// server has closed the socket (the output ended, it did not fail).
    func send(pcm samples: ArraySlice<Float>) throws {
        try send(.binary(Self.pcm16(samples)))
    }

    func muteChanged(_ muted: Bool) throws {
        guard muted != self.muted else { return }
        self.muted = muted
        try send(.text(muted ? #"{"muted":true}"# : #"{"muted":false}"#))
    }

    /// Closes the socket normally (1000); FINISHED, or FAILED with `failure`.
    func close(failure: String? = nil) {
        guard !closed else { return }
        closed = true
        socket?.close()
        if let failure { fail(failure) } else if result.status == .active { end(.finished) }
    }

    /// Where it stands, for `stream_results`.
    func streamResult() -> StreamResult { result }

    private enum Message {
        case text(String)
        case binary([UInt8])
    }

    private func send(_ message: Message) throws {
        guard let socket, !closed else { return }
        if let reason = socket.closedReason, reason.hasPrefix("the WebSocket server closed") {
            closed = true
            end(.finished)
            throw OutputClosed(reason: reason)
        }
        do {
            switch message {
            case .text(let text): try socket.send(text: text)
            case .binary(let bytes):
                try socket.send(binary: bytes)
                OutputMetrics.wrote(bytes.count, to: .websocket)
            }
        } catch {
            throw RecorderError("\(label): \(error)", code: 503)
        }
    }

    private func fail(_ reason: String) {
        result.error = reason
        end(.failed)
    }

    private func end(_ status: StreamResult.Status) {
        result.status = status
        result.endedAt = WallClock.nanoseconds()
        if result.startedAt > 0 { result.duration = result.endedAt - result.startedAt }
    }

    /// Float samples as signed 16-bit little-endian, clipped.
    static func pcm16(_ samples: ArraySlice<Float>) -> [UInt8] {
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
