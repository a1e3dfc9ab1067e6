/// Puts the packets of one RTP stream back in sequence order, waiting a bounded time for a
/// missing one before giving it up as lost.
///
/// Packets are released in order as soon as they are contiguous. When the next one is missing,
/// the packets after the gap wait until the oldest of them has waited `maxDelay` (or the buffer
/// holds `capacity` packets); then the gap is skipped and counted in `lost`. Packets that arrive
/// after their place was released or skipped are dropped and counted in `late`.
public struct JitterBuffer: Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Packets released in order.
        public var received: Int = 0
        /// Sequence numbers given up on.
        public var lost: Int = 0
        /// Packets that came after their place had been passed.
        public var late: Int = 0
        public var duplicates: Int = 0
        /// Packets that arrived before one with a lower sequence number.
        public var reordered: Int = 0
    }

    /// A packet released by the buffer, with a flag saying a gap came just before it.
    public struct Released: Sendable {
        public var packet: RTPPacket
        public var sequence: Int64
        public var afterGap: Bool
    }

    public let maxDelay: Int64
    public let capacity: Int
    public private(set) var statistics = Statistics()
    /// Whether packets wait behind a gap.
    public var hasPending: Bool { !pending.isEmpty }

    private var pending: [Int64: (packet: RTPPacket, arrival: Int64)] = [:]
    /// The extended sequence number expected next; nil before the first packet.
    private var next: Int64?
    private var highest: Int64 = 0
    private var gapBeforeNext = false

    /// - Parameters:
    ///   - maxDelay: nanoseconds a packet may wait for a missing predecessor.
    ///   - capacity: packets held at most; a fuller buffer gives up on its gap at once.
    public init(maxDelay: Int64 = 150_000_000, capacity: Int = 512) {
        self.maxDelay = maxDelay
        self.capacity = capacity
    }

    /// Adds a packet that arrived at `now` (ns) and returns what is ready, in order.
    public mutating func insert(_ packet: RTPPacket, now: Int64) -> [Released] {
        guard let expected = next else {
            next = Int64(packet.sequenceNumber)
            highest = Int64(packet.sequenceNumber)
            pending[Int64(packet.sequenceNumber)] = (packet, now)
            return release(now: now)
        }
        let sequence = Self.extend(packet.sequenceNumber, near: highest)
        if sequence < expected {
            statistics.late += 1
            return []
        }
        if pending[sequence] != nil {
            statistics.duplicates += 1
            return []
        }
        if sequence < highest { statistics.reordered += 1 }
        highest = max(highest, sequence)
        pending[sequence] = (packet, now)
        return release(now: now)
    }

    /// Releases what has waited long enough; call it on a timer so a gap at the end of a
    /// burst does not hold packets back until the next one arrives.
    public mutating func release(now: Int64) -> [Released] {
        var out: [Released] = []
        while var expected = next, !pending.isEmpty {
            if let entry = pending.removeValue(forKey: expected) {
                out.append(Released(packet: entry.packet, sequence: expected, afterGap: gapBeforeNext))
                gapBeforeNext = false
                statistics.received += 1
                next = expected + 1
                continue
            }
            let oldest = pending.min { $0.key < $1.key }!
            guard now - oldest.value.arrival >= maxDelay || pending.count >= capacity else { break }
            statistics.lost += Int(oldest.key - expected)
            expected = oldest.key
            next = expected
            gapBeforeNext = true
        }
        return out
    }

    /// The 64-bit sequence number of a 16-bit one, taken as the closest to `reference`.
    static func extend(_ sequence: UInt16, near reference: Int64) -> Int64 {
        let cycle = reference & ~0xFFFF
        var candidate = cycle | Int64(sequence)
        if candidate - reference > 0x8000 { candidate -= 0x10000 }
        else if reference - candidate > 0x8000 { candidate += 0x10000 }
        return candidate
    }
}
