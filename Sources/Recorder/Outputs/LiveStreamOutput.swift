import Foundation
import Media
import SessionManager
import Support
import Synchronization

/// One URL of a `stream_outputs` (FLV over RTMP/RTMPS, MPEG-TS over SRT), written by a thread
/// of its own so that a slow or stuck server never stalls the recording or its other outputs.
///
/// The recording thread hands it packets through a bounded queue; while it is not connected
/// they are dropped (a live stream has no use for old media). As LiveKit's egress does, a
/// stream that cannot connect at all fails at once (a wrong URL or key); one that was
/// streaming and fails, or whose server stops taking data (a write blocked, or the queue
/// full), is made again with a short back-off, each attempt counted in `retries`, until
/// `StreamRetryPolicy.reconnectWindow` has passed without streaming: then it is FAILED with the
/// last error and the recording drops it. Each connection starts at a video key frame.
final class LiveStreamOutput: PacketOutput, @unchecked Sendable {
    let id: String
    /// The URL as given (its key is a secret: never logged).
    let url: String
    private let format: String
    private let policy: StreamRetryPolicy
    private let queue: InputQueue<Item>
    private let state: Mutex<State>
    private let ended = DispatchSemaphore(value: 0)
    private var hasVideo = false

    private enum Item: @unchecked Sendable {
        case packet(Packet, StreamKind)
        case close
    }

    private struct State {
        var result: StreamResult
        var connected = false
        /// Whether the current connection got as far as streaming (else it hangs connecting).
        var startedConnection = false
        var closing = false
        /// The stream's thread is done: closed, or failed for good.
        var ended = false
        var failure: String?
        /// The current connection's interrupter: the recording thread cuts off a stuck one.
        var interrupter: IOInterrupter?
        /// Packets dropped because the connection did not keep up.
        var stalls = 0
    }

    init(id: String, url: String, policy: StreamRetryPolicy) {
        self.id = id
        self.url = url
        format = url.lowercased().hasPrefix("srt://") ? "mpegts" : "flv"
        self.policy = policy
        queue = InputQueue(capacity: policy.queuedPackets)
        state = Mutex(State(result: StreamResult(id: id, url: url)))
    }

    var label: String { "stream \(StreamKey.redacted(url))" }
    var metricKind: OutputMetrics.Kind { .stream }

    // MARK: The recording's thread

    func start(video: Encoder?, audio: Encoder) throws {
        let streams = try (video.map { try StreamParameters(of: $0) }, StreamParameters(of: audio))
        hasVideo = streams.0 != nil
        let thread = Thread { [self] in run(video: streams.0, audio: streams.1) }
        thread.name = "stream \(id)"
        thread.start()
    }

    func write(_ packet: Packet, _ kind: StreamKind) throws {
        let (connected, failure) = state.withLock { ($0.connected && !$0.closing, $0.failure) }
        if let failure { throw RecorderError(failure) }
        guard connected else { return }
        if !queue.push(.packet(packet, kind), urgent: false) {
            // The server stopped taking data: this connection is cut off and made again.
            let interrupter = state.withLock { state in
                state.stalls += 1
                return state.interrupter
            }
            interrupter?.interrupt()
        }
    }

    /// Closes the stream after what is queued, and waits (a bounded time) until it is closed.
    func finish() throws {
        close()
        guard !state.withLock({ $0.ended }) else { return }
        if ended.wait(timeout: .now() + policy.closeTimeout) == .timedOut {
            state.withLock { $0.interrupter }?.interrupt()
            _ = ended.wait(timeout: .now() + 1)
        }
    }

    /// Asks the stream to close after what is queued, without waiting (UpdateStream's removal).
    func close() {
        let first = state.withLock { state in
            defer { state.closing = true }
            return !state.closing
        }
        if first { queue.push(.close, urgent: true) }
    }

    /// Where the stream stands, for `stream_results`.
    func result() -> StreamResult {
        state.withLock { $0.result }
    }

    var isActive: Bool { state.withLock { !$0.closing && $0.failure == nil } }

    // MARK: The stream's thread

    private func run(video: StreamParameters?, audio: StreamParameters) {
        /// When the current outage began (monotonic), and how many attempts it has had.
        var outage: (since: Int64, attempts: Int)?
        while !state.withLock({ $0.closing }) {
            let interrupter = IOInterrupter()
            state.withLock { $0.interrupter = interrupter }
            let connectedAt = MonotonicClock.nanoseconds()
            state.withLock { $0.startedConnection = false }
            do {
                try stream(video: video, audio: audio, interrupter: interrupter)
                break
            } catch {
                state.withLock { $0.connected = false }
                if state.withLock({ $0.closing }) { break }
                let now = MonotonicClock.nanoseconds()
                // A connection that streamed for a while ends the outage before it.
                if state.withLock({ $0.startedConnection }), now - connectedAt > policy.stableAfter { outage = nil }
                let reason = !interrupter.shouldGiveUp ? "\(error)"
                    : state.withLock({ $0.startedConnection }) ? "\(label) stopped taking data" : "\(label) did not answer in time"
                let neverStreamed = state.withLock { $0.result.startedAt == 0 }
                let current = outage ?? (now, 0)
                guard !neverStreamed, now - current.since < policy.reconnectWindow.nanoseconds else {
                    state.withLock { $0.failure = reason }
                    break
                }
                outage = (current.since, current.attempts + 1)
                state.withLock { state in
                    state.result.retries += 1
                    state.result.lastRetryAt = WallClock.nanoseconds()
                    state.result.error = reason
                }
                // Waits out the back-off; a close ends the wait (and the stream).
                let backoff = policy.backoff(afterFailures: current.attempts + 1)
                let deadline = MonotonicClock.nanoseconds() + backoff
                while !state.withLock({ $0.closing }), MonotonicClock.nanoseconds() < deadline {
                    _ = queue.take(within: Double(deadline - MonotonicClock.nanoseconds()) / 1e9)
                }
            }
        }
        state.withLock { state in
            let now = WallClock.nanoseconds()
            state.connected = false
            state.ended = true
            state.interrupter = nil
            state.result.status = state.failure == nil ? .finished : .failed
            if let failure = state.failure { state.result.error = failure }
            state.result.endedAt = now
            if state.result.startedAt > 0 { state.result.duration = now - state.result.startedAt }
        }
        ended.signal()
    }

    /// One connection: connects, then writes what the recording hands over until a close
    /// (normal return) or an error (thrown).
    private func stream(video: StreamParameters?, audio: StreamParameters, interrupter: IOInterrupter) throws {
        interrupter.allow(policy.connectTimeout)
        let muxer = try Muxer(url: url, label: label, format: format, interrupter: interrupter)
        let videoStream = try video.map { try muxer.addStream($0) }
        let audioStream = try muxer.addStream(audio)
        try muxer.writeHeader()
        // What was queued before this connection is stale.
        _ = queue.take(within: 0)
        state.withLock { state in
            state.connected = true
            state.startedConnection = true
            if state.result.startedAt == 0 { state.result.startedAt = WallClock.nanoseconds() }
        }
        var waitingForKeyFrame = videoStream != nil
        while true {
            for item in queue.take(within: 0.1) {
                switch item {
                case .close:
                    interrupter.allow(policy.connectTimeout)
                    try muxer.finish()
                    return
                case .packet(let packet, let kind):
                    if waitingForKeyFrame {
                        guard kind == .video, packet.isKeyframe else { continue }
                        waitingForKeyFrame = false
                    }
                    interrupter.allow(policy.writeTimeout)
                    switch kind {
                    case .video: if let videoStream { try muxer.write(packet, stream: videoStream) }
                    case .audio: try muxer.write(packet, stream: audioStream)
                    }
                }
            }
            // Cut off by the recording thread (the queue filled) between two writes.
            if interrupter.isInterrupted { throw RecorderError("\(label) stopped taking data") }
        }
    }
}

/// How a live stream reconnects: as LiveKit's egress, for up to 30 s after it stopped
/// streaming; here with a short growing back-off between attempts.
public struct StreamRetryPolicy: Sendable {
    /// How long a stream that was streaming may try to get back before it is FAILED.
    public var reconnectWindow: Duration = .seconds(30)
    /// The first wait before reconnecting (doubling, up to `maxBackoff`).
    public var firstBackoff: Duration = .milliseconds(500)
    public var maxBackoff: Duration = .seconds(5)
    /// A connection that streamed this long ends the outage before it.
    public var stableAfterSeconds = 5
    /// How long connecting (and the closing trailer) may take.
    public var connectSeconds = 10
    /// How long one write may block before the connection counts as stuck.
    public var writeSeconds = 5
    /// Packets waiting for the connection: past this the connection is cut off.
    public var queuedPackets = 600

    public init() {}

    var connectTimeout: Int64 { Int64(connectSeconds) * 1_000_000_000 }
    var writeTimeout: Int64 { Int64(writeSeconds) * 1_000_000_000 }
    var stableAfter: Int64 { Int64(stableAfterSeconds) * 1_000_000_000 }
    var closeTimeout: DispatchTimeInterval { .seconds(connectSeconds) }

    func backoff(afterFailures failures: Int) -> Int64 {
        var wait = firstBackoff.nanoseconds
        for _ in 1..<max(1, min(failures, 30)) { wait = min(wait * 2, maxBackoff.nanoseconds) }
        return min(wait, maxBackoff.nanoseconds)
    }
}
