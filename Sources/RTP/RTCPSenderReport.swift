/// An RTCP sender report (RFC 3550 §6.4.1): the sender's wall-clock time (NTP) that
/// corresponds to one RTP timestamp of its stream. Two tracks of one sender are put on one
/// timeline through their reports.
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// The sender's wall clock, Unix nanoseconds.
    public var wallClock: Int64
    public var rtpTimestamp: UInt32

    public init(ssrc: UInt32, wallClock: Int64, rtpTimestamp: UInt32) {
        self.ssrc = ssrc
        self.wallClock = wallClock
        self.rtpTimestamp = rtpTimestamp
    }

    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
    static let ntpToUnixSeconds: Int64 = 2_208_988_800

    /// The sender reports in a compound RTCP packet; other packet types are skipped.
    public static func parse(compound bytes: [UInt8]) -> [RTCPSenderReport] {
        var reports: [RTCPSenderReport] = []
        var offset = 0
        while offset + 4 <= bytes.count, bytes[offset] >> 6 == 2 {
            let length = ((Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])) + 1) * 4
            guard offset + length <= bytes.count else { break }
            if bytes[offset + 1] == 200, length >= 28 {
                let seconds = Int64(bytes.bigEndianUInt32(at: offset + 8))
                let fraction = Int64(bytes.bigEndianUInt32(at: offset + 12))
                let unixNanos = (seconds - ntpToUnixSeconds) * 1_000_000_000 + (fraction * 1_000_000_000) >> 32
                reports.append(RTCPSenderReport(ssrc: bytes.bigEndianUInt32(at: offset + 4), wallClock: unixNanos,
                                                rtpTimestamp: bytes.bigEndianUInt32(at: offset + 16)))
            }
            offset += length
        }
        return reports
    }

    /// Serializes a sender report with no report blocks; used by test senders.
    public var bytes: [UInt8] {
        var out: [UInt8] = [0x80, 200, 0, 6]
        out.appendBigEndian(ssrc)
        let seconds = wallClock / 1_000_000_000 + Self.ntpToUnixSeconds
        let fraction = ((wallClock % 1_000_000_000) << 32) / 1_000_000_000
        out.appendBigEndian(UInt32(truncatingIfNeeded: seconds))
        out.appendBigEndian(UInt32(truncatingIfNeeded: fraction))
        out.appendBigEndian(rtpTimestamp)
        out.appendBigEndian(0)  // packet count
        out.appendBigEndian(0)  // octet count
        return out
    }
}
