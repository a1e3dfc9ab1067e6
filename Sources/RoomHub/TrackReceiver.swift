import RTP

/// The receiving end of one published track: RTP in (any order), whole timed frames out.
/// Owned by the hub and used only on its event loop.
final class TrackReceiver {
    private(set) var track: HubTrack
    private var jitter: JitterBuffer
    private var depacketizer: any Depacketizer
    private var clock: RTPClock
    private(set) var frames = 0
    private(set) var bytes = 0
    private(set) var wrongPayloadType = 0
    /// Monotonic ns of the last packet.
    private(set) var lastPacketAt: Int64 = 0

    init(track: HubTrack, maxJitterDelay: Int64) {
        self.track = track
        jitter = JitterBuffer(maxDelay: maxJitterDelay)
        depacketizer = track.codec.makeDepacketizer()
        clock = RTPClock(clockRate: track.clockRate)
    }

    var statistics: JitterBuffer.Statistics { jitter.statistics }
    /// Packets wait in the jitter buffer behind a gap.
    var hasPending: Bool { jitter.hasPending }

    func update(_ track: HubTrack) { self.track = track }

    /// Takes a packet that arrived at `arrival` (Unix ns) / `now` (monotonic ns).
    func receive(_ packet: RTPPacket, arrival: Int64, now: Int64) -> [MediaFrame] {
        lastPacketAt = now
        guard packet.payloadType == track.payloadType else {
            wrongPayloadType += 1
            return []
        }
        let timestamp = clock.extend(packet.timestamp)
        clock.observe(timestamp: timestamp, arrival: arrival)
        return frames(from: jitter.insert(packet, now: now))
    }

    /// Releases packets that waited out a gap.
    func flush(now: Int64) -> [MediaFrame] {
        frames(from: jitter.release(now: now))
    }

    func apply(_ report: RTCPSenderReport) { clock.apply(report) }

    private func frames(from released: [JitterBuffer.Released]) -> [MediaFrame] {
        var out: [MediaFrame] = []
        for item in released {
            let timestamp = clock.extend(item.packet.timestamp)
            for frame in depacketizer.push(item.packet, timestamp: timestamp, afterGap: item.afterGap) {
                guard let captureTime = clock.wallClock(of: frame.timestamp) else { continue }
                frames += 1
                bytes += frame.data.count
                out.append(MediaFrame(trackSID: track.sid, codec: track.codec, frame: frame,
                                      captureTime: captureTime, synchronized: clock.hasSenderReport))
            }
        }
        return out
    }
}
