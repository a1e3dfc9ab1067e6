import Support

/// Maps one stream's RTP timestamps to the sender's wall clock (Unix ns): through its latest
/// RTCP sender report, or — until one arrives — through the arrival time of its first packet.
/// Tracks of one sender share that wall clock, which is what keeps audio and video in sync.
public struct RTPClock: Sendable {
    public let clockRate: Int64
    private var highest: Int64?
    private var anchor: (rtp: Int64, wallClock: Int64)?
    public private(set) var hasSenderReport = false

    public init(clockRate: Int) {
        self.clockRate = Int64(clockRate)
    }

    /// The 64-bit form of a 32-bit timestamp, taken as the closest to those seen before.
    public mutating func extend(_ timestamp: UInt32) -> Int64 {
        guard let reference = highest else {
            highest = Int64(timestamp)
            return Int64(timestamp)
        }
        let cycle = reference & ~0xFFFF_FFFF
        var candidate = cycle | Int64(timestamp)
        if candidate - reference > 0x8000_0000 { candidate -= 0x1_0000_0000 }
        else if reference - candidate > 0x8000_0000 { candidate += 0x1_0000_0000 }
        highest = max(reference, candidate)
        return candidate
    }

    /// Anchors the clock at a packet's arrival when no sender report has come yet.
    public mutating func observe(timestamp: Int64, arrival: Int64) {
        if anchor == nil { anchor = (timestamp, arrival) }
    }

    public mutating func apply(_ report: RTCPSenderReport) {
        let rtp = extend(report.rtpTimestamp)
        anchor = (rtp, report.wallClock)
        hasSenderReport = true
    }

    /// The sender's wall-clock time of an extended timestamp (Unix ns); nil before any anchor,
    /// and for a time that does not fit (timestamps and reports come from the network).
    public func wallClock(of timestamp: Int64) -> Int64? {
        guard let anchor, clockRate > 0 else { return nil }
        let (ticks, borrowed) = timestamp.subtractingReportingOverflow(anchor.rtp)
        guard !borrowed, let elapsed = ticks.rescaled(by: 1_000_000_000, over: clockRate) else { return nil }
        let (time, overflowed) = anchor.wallClock.addingReportingOverflow(elapsed)
        return overflowed ? nil : time
    }
}
