/// RTCP packets a receiver sends back to a sender (RFC 3550 receiver reports, RFC 4585
/// generic NACK and PLI, REMB), each a whole packet to put in a compound.
public enum RTCPFeedback {
    /// One report block of a receiver report.
    public struct ReportBlock: Sendable, Equatable {
        public var ssrc: UInt32
        /// Lost since the last report, of 256.
        public var fractionLost: UInt8
        /// Lost since the start (24 bits, clamped).
        public var cumulativeLost: Int
        public var highestSequence: UInt32
        /// Interarrival jitter in RTP timestamp units.
        public var jitter: UInt32
        /// The middle 32 bits of the last sender report's NTP time, 0 if none.
        public var lastSenderReport: UInt32
        /// Since that report, in 1/65536 s.
        public var delaySinceLastSenderReport: UInt32

        public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int, highestSequence: UInt32, jitter: UInt32,
                    lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32) {
            self.ssrc = ssrc
            self.fractionLost = fractionLost
            self.cumulativeLost = cumulativeLost
            self.highestSequence = highestSequence
            self.jitter = jitter
            self.lastSenderReport = lastSenderReport
            self.delaySinceLastSenderReport = delaySinceLastSenderReport
        }
    }

    /// A receiver report (PT 201) with up to 31 blocks.
    public static func receiverReport(from sender: UInt32, blocks: [ReportBlock]) -> [UInt8] {
        let blocks = blocks.prefix(31)
        var out: [UInt8] = [0x80 | UInt8(blocks.count), 201]
        out.appendBigEndian16(UInt16(1 + 6 * blocks.count))
        out.appendBigEndian(sender)
        for block in blocks {
            out.appendBigEndian(block.ssrc)
            let lost = UInt32(clamping: max(0, min(block.cumulativeLost, 0x7F_FFFF)))
            out.appendBigEndian(UInt32(block.fractionLost) << 24 | lost)
            out.appendBigEndian(block.highestSequence)
            out.appendBigEndian(block.jitter)
            out.appendBigEndian(block.lastSenderReport)
            out.appendBigEndian(block.delaySinceLastSenderReport)
        }
        return out
    }

    /// A generic NACK (PT 205, FMT 1) for `sequences` (in ascending order, across a wrap too),
    /// packed as PID + 16-bit BLP pairs.
    public static func nack(from sender: UInt32, media: UInt32, sequences: [UInt16]) -> [UInt8]? {
        guard !sequences.isEmpty else { return nil }
        var pairs: [(UInt16, UInt16)] = []
        for sequence in sequences.prefix(256) {
            if let last = pairs.last, case let distance = sequence &- last.0, distance >= 1, distance <= 16 {
                pairs[pairs.count - 1].1 |= 1 << (distance - 1)
            } else {
                pairs.append((sequence, 0))
            }
        }
        var out: [UInt8] = [0x81, 205]
        out.appendBigEndian16(UInt16(2 + pairs.count))
        out.appendBigEndian(sender)
        out.appendBigEndian(media)
        for (pid, blp) in pairs {
            out.appendBigEndian16(pid)
            out.appendBigEndian16(blp)
        }
        return out
    }

    /// A picture loss indication (PT 206, FMT 1): asks the sender for a key frame.
    public static func pli(from sender: UInt32, media: UInt32) -> [UInt8] {
        var out: [UInt8] = [0x81, 206, 0, 2]
        out.appendBigEndian(sender)
        out.appendBigEndian(media)
        return out
    }

    /// A receiver estimated maximum bitrate (PT 206, FMT 15, "REMB") for `ssrcs`.
    public static func remb(from sender: UInt32, bitrate: UInt64, ssrcs: [UInt32]) -> [UInt8] {
        let ssrcs = ssrcs.prefix(255)
        var exponent: UInt64 = 0
        var mantissa = bitrate
        while mantissa > 0x3_FFFF {
            mantissa >>= 1
            exponent += 1
        }
        var out: [UInt8] = [0x8F, 206]
        out.appendBigEndian16(UInt16(4 + ssrcs.count))
        out.appendBigEndian(sender)
        out.appendBigEndian(UInt32(0))  // media source: unused
        out += Array("REMB".utf8)
        out.append(UInt8(ssrcs.count))
        out.append(UInt8(exponent << 2) | UInt8(mantissa >> 16))
        out.appendBigEndian16(UInt16(mantissa & 0xFFFF))
        for ssrc in ssrcs { out.appendBigEndian(ssrc) }
        return out
    }
}

extension [UInt8] {
    mutating func appendBigEndian16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
