import Rooms
import RTP
import Support

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
    /// RTP and RTCP with this track's SSRC from an address other than `source`.
    var packetsWrongSource = 0
    /// Frames dropped for a time too far from the server's clock.
    var framesOutOfTime = 0
    /// The offset from its sender's clock to ours, once its first reported frame came.
    var clockOffset: Int64?
    /// Where the track's RTP comes from: named when it was published, or the address of its
    /// first packet that fits it. Nothing from elsewhere is taken.
    var source: SourceAddress?
    /// The latest sender report that came before the track's first packet, and from where:
    /// applied once the first packet says who the sender is.
    private var earlyReport: (RTCPSenderReport, SourceAddress)?
    /// Where the track's sender reports come from, once one has been taken.
    private(set) var controlSource: SourceAddress?
    /// Monotonic ns of the last packet.
    private(set) var lastPacketAt: Int64 = 0
    /// The WebRTC session whose SRTP alone feeds this track; nil for plain RTP.
    let webRTCSession: String?
    /// Muted by the hub because its WebRTC sender went quiet (unmuted by its next packet).
    var mutedBySilence = false
    /// PLIs sent for it.
    var keyFrameRequests = 0
    /// What receiver reports and NACKs need to know.
    var feedback = ReceiverFeedback()

    init(track: HubTrack, source: SourceAddress?, webRTCSession: String? = nil, maxJitterDelay: Int64) {
        self.track = track
        self.source = source
        self.webRTCSession = webRTCSession
        jitter = JitterBuffer(maxDelay: maxJitterDelay)
        depacketizer = track.codec.makeDepacketizer()
        clock = RTPClock(clockRate: track.clockRate)
    }

    var statistics: JitterBuffer.Statistics { jitter.statistics }
    /// Packets wait in the jitter buffer behind a gap.
    var hasPending: Bool { jitter.hasPending }

    func update(_ track: HubTrack) { self.track = track }

    /// Takes a packet from `sender` that arrived at `arrival` (Unix ns) / `now` (monotonic ns).
    /// The first one that fits the track binds it to its sender's address.
    func receive(_ packet: RTPPacket, from sender: SourceAddress, arrival: Int64, now: Int64) -> [MediaFrame] {
        guard source == nil || source == sender else {
            packetsWrongSource += 1
            return []
        }
        guard packet.payloadType == track.payloadType else {
            wrongPayloadType += 1
            return []
        }
        if source == nil {
            source = sender
            // A sender report that came before the first packet (ffmpeg sends one first).
            if let (report, from) = earlyReport {
                earlyReport = nil
                apply(report, from: from)
            }
        }
        lastPacketAt = now
        let timestamp = clock.extend(packet.timestamp)
        clock.observe(timestamp: timestamp, arrival: arrival)
        feedback.observe(rtpTimestamp: packet.timestamp, arrival: now, clockRate: track.clockRate)
        feedback.arrived(sequence: packet.sequenceNumber)
        return frames(from: jitter.insert(packet, now: now))
    }

    /// Sequence numbers to ask the sender for again (generic NACK) at `now`.
    func sequencesToRequest(now: Int64) -> [UInt16] {
        feedback.requests(missing: jitter.missing(limit: ReceiverFeedback.maxRequestsPerNACK), now: now)
    }

    /// This track's block of a receiver report.
    func reportBlock(now: Int64) -> RTCPFeedback.ReportBlock {
        feedback.reportBlock(ssrc: track.ssrc, statistics: jitter.statistics, highest: jitter.highestSequence, now: now)
    }

    /// Releases packets that waited out a gap.
    func flush(now: Int64) -> [MediaFrame] {
        frames(from: jitter.release(now: now))
    }

    /// A sender report, taken only from the track's sender: its RTP address (rtcp-mux), or the
    /// port after it (RFC 3550) until reports have come from the RTP address itself. Reports are
    /// then taken from that one address only, so another process on the sender's host cannot
    /// take over the port after it later.
    func apply(_ report: RTCPSenderReport, from sender: SourceAddress) {
        guard let source else {
            earlyReport = (report, sender)
            return
        }
        let fromRTPAddress = sender == source
        guard fromRTPAddress || (sender.isControlPeer(of: source) && (controlSource == nil || controlSource == sender)) else {
            packetsWrongSource += 1
            return
        }
        controlSource = sender
        clock.apply(report)
        feedback.senderReportArrived(report, now: MonotonicClock.nanoseconds())
    }

    private func frames(from released: [JitterBuffer.Released]) -> [MediaFrame] {
        var out: [MediaFrame] = []
        for item in released {
            let timestamp = clock.extend(item.packet.timestamp)
            if item.afterGap, track.kind == .video { feedback.needsKeyFrame = true }
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
