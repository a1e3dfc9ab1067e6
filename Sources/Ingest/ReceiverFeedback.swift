import RTP

/// A track's side of RTCP feedback: what its receiver reports say (loss since the last one,
/// interarrival jitter, the last sender report), which lost packets were asked for again and
/// when, and whether a key frame is needed. Owned by its `TrackReceiver`, on the hub's loop.
struct ReceiverFeedback {
    /// The most sequence numbers one NACK asks for.
    static let maxRequestsPerNACK = 64
    /// Each lost packet is asked for at most this often, this far apart.
    static let maxRequestsPerPacket = 3
    static let requestInterval: Int64 = 30_000_000

    /// Set when the jitter buffer gave up on a gap of a video track: a PLI is due.
    var needsKeyFrame = false
    /// Monotonic ns of the last PLI sent for the track.
    var lastKeyFrameRequest: Int64 = .min
    /// NACKs sent, per lost packet (sequence number): how often, and when last.
    private var requested: [UInt16: (count: Int, at: Int64)] = [:]
    /// Packets asked for again, and how many of them then came.
    private(set) var nackedPackets = 0
    private(set) var recoveredPackets = 0
    /// Interarrival jitter, RFC 3550 §6.4.1, in RTP units ×16 (the estimator's own scale).
    private var jitter: Int64 = 0
    private var lastTransit: Int64?
    /// (received + lost) and lost at the last report, for the fraction lost since.
    private var reportedExpected = 0
    private var reportedLost = 0
    /// The last sender report's NTP middle 32 bits and when it came (monotonic ns).
    private var lastSenderReport: (ntpMiddle: UInt32, at: Int64)?

    mutating func observe(rtpTimestamp: UInt32, arrival: Int64, clockRate: Int) {
        // Arrival in RTP units; microseconds first, so that the product stays far from overflow.
        let (units, overflowed) = (arrival / 1000).multipliedReportingOverflow(by: Int64(clockRate))
        guard !overflowed else { return }
        let transit = units / 1_000_000 - Int64(rtpTimestamp)
        if let last = lastTransit {
            // Timestamps wrap at 2^32: the difference is taken in 32 bits.
            let difference = Int64(Int32(truncatingIfNeeded: transit - last)).magnitude
            jitter += Int64(difference) - (jitter + 8) / 16
        }
        lastTransit = transit
    }

    mutating func senderReportArrived(_ report: RTCPSenderReport, now: Int64) {
        let seconds = report.wallClock / 1_000_000_000 + 2_208_988_800
        let fraction = ((report.wallClock % 1_000_000_000) << 16) / 1_000_000_000
        lastSenderReport = (UInt32(truncatingIfNeeded: seconds << 16 | fraction), now)
    }

    /// Of `missing`, those due a (first or repeated) request at `now`; as 16-bit numbers.
    mutating func requests(missing: [Int64], now: Int64) -> [UInt16] {
        let missing = missing.map { UInt16(truncatingIfNeeded: $0) }
        if !requested.isEmpty {
            // What is no longer missing was given up on (a packet that came was counted then).
            let still = Set(missing)
            requested = requested.filter { still.contains($0.key) }
        }
        var due: [UInt16] = []
        for sequence in missing {
            let previous = requested[sequence]
            guard previous.map({ $0.count < Self.maxRequestsPerPacket && now - $0.at >= Self.requestInterval }) ?? true else { continue }
            if previous == nil { nackedPackets += 1 }
            requested[sequence] = ((previous?.count ?? 0) + 1, now)
            due.append(sequence)
        }
        return due
    }

    /// A packet came: if it had been asked for again, it is a recovered one.
    mutating func arrived(sequence: UInt16) {
        guard !requested.isEmpty, requested.removeValue(forKey: sequence) != nil else { return }
        recoveredPackets += 1
    }

    mutating func reportBlock(ssrc: UInt32, statistics: JitterBuffer.Statistics, highest: Int64, now: Int64) -> RTCPFeedback.ReportBlock {
        let expected = statistics.received + statistics.lost
        let expectedInterval = expected - reportedExpected, lostInterval = statistics.lost - reportedLost
        (reportedExpected, reportedLost) = (expected, statistics.lost)
        let fraction = expectedInterval > 0 && lostInterval > 0 ? UInt8(clamping: lostInterval * 256 / expectedInterval) : 0
        var lsr: UInt32 = 0, dlsr: UInt32 = 0
        if let last = lastSenderReport {
            lsr = last.ntpMiddle
            dlsr = UInt32(clamping: max(0, now - last.at) / 15_259)  // ns per 1/65536 s
        }
        return RTCPFeedback.ReportBlock(ssrc: ssrc, fractionLost: fraction, cumulativeLost: statistics.lost,
                                        highestSequence: UInt32(truncatingIfNeeded: highest), jitter: UInt32(clamping: jitter / 16),
                                        lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
    }
}
