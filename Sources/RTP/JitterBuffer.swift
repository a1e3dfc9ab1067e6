/// Puts the packets of one RTP stream back in sequence order, waiting a bounded time for a
/// missing one before giving it up as lost.
///
/// Packets are released in order as soon as they are contiguous. When the next one is missing,
/// the packets after the gap wait until the oldest of them has waited `maxDelay` (or the buffer
/// holds `capacity` packets); then the gap is skipped and counted in `lost`. Packets that arrive
/// after their place was released or skipped are dropped and counted in `late`.
///
/// A packet far outside the current range (more than `maxDropout` ahead of the highest, or
/// `maxMisorder` behind it) is not believed on its own (RFC 3550 A.1, as libwebrtc does): it is
/// held aside, and only if the next packet follows it does the stream restart there. So one
/// stray or forged packet cannot move the stream's range and make every genuine packet "late".
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
        /// Packets far outside the stream's range that no following packet confirmed (dropped).
        public var outOfRange: Int = 0
        /// Times the stream restarted at a new, confirmed range.
        public var restarts: Int = 0
    }

    /// A packet released by the buffer, with a flag saying a gap came just before it.
    public struct Released: Sendable {
        public var packet: RTPPacket
        public var sequence: Int64
        public var afterGap: Bool
    }

    public let maxDelay: Int64
    public let capacity: Int
    /// How far ahead of the highest sequence number a packet may be and still be believed.
    public let maxDropout: Int64
    /// How far behind the highest a packet may be and still count as late rather than a restart.
    public let maxMisorder: Int64
    public private(set) var statistics = Statistics()
    /// Whether packets wait behind a gap.
    public var hasPending: Bool { !pending.isEmpty }

    private var pending: [Int64: (packet: RTPPacket, arrival: Int64)] = [:]
    /// The extended sequence number expected next; nil before the first packet.
    private var next: Int64?
    private var highest: Int64 = 0
    private var gapBeforeNext = false
    /// A packet far out of range, waiting for its successor to confirm a restart.
    private var probation: (packet: RTPPacket, arrival: Int64)?

    /// - Parameters:
    ///   - maxDelay: nanoseconds a packet may wait for a missing predecessor.
    ///   - capacity: packets held at most; a fuller buffer gives up on its gap at once.
    ///   - maxDropout, maxMisorder: the range believed without confirmation (RFC 3550's 3000 and 100).
    public init(maxDelay: Int64 = 150_000_000, capacity: Int = 512, maxDropout: Int64 = 3000, maxMisorder: Int64 = 100) {
        self.maxDelay = maxDelay
        self.capacity = max(1, capacity)
        self.maxDropout = maxDropout
        self.maxMisorder = maxMisorder
    }

    /// Adds a packet that arrived at `now` (ns) and returns what is ready, in order.
    public mutating func insert(_ packet: RTPPacket, now: Int64) -> [Released] {
        guard let expected = next else {
            start(at: packet, now: now)
            return release(now: now)
        }
        let sequence = Self.extend(packet.sequenceNumber, near: highest)
        if sequence > highest + maxDropout || sequence < highest - maxMisorder {
            return probe(packet, now: now)
        }
        if probation != nil {
            // The stream went on in its range: the held packet was a stray.
            statistics.outOfRange += 1
            probation = nil
        }
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

    /// Extended sequence numbers between the next one expected and the highest received that
    /// have not come (at most `limit`, oldest first): what a NACK asks for.
    public func missing(limit: Int) -> [Int64] {
        guard let next, highest > next, !pending.isEmpty else { return [] }
        var out: [Int64] = []
        var sequence = next
        while sequence < highest, out.count < limit {
            if pending[sequence] == nil { out.append(sequence) }
            sequence += 1
        }
        return out
    }

    /// The highest extended sequence number received (RFC 3550's "extended highest sequence number").
    public var highestSequence: Int64 { highest }

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
            guard let oldest = pending.min(by: { $0.key < $1.key }) else { break }
            guard now - oldest.value.arrival >= maxDelay || pending.count >= capacity else { break }
            statistics.lost += Int(oldest.key - expected)
            expected = oldest.key
            next = expected
            gapBeforeNext = true
        }
        return out
    }

    /// A packet far out of range: held until the next packet says whether the stream really
    /// moved there (it follows this one) or this one was a stray (it does not).
    private mutating func probe(_ packet: RTPPacket, now: Int64) -> [Released] {
        guard let candidate = probation, packet.sequenceNumber == candidate.packet.sequenceNumber &+ 1 else {
            if probation != nil { statistics.outOfRange += 1 }
            probation = (packet, now)
            return []
        }
        // Confirmed: what the old range still holds goes out, its gaps counted as lost; the
        // stream goes on from the candidate.
        probation = nil
        var out: [Released] = []
        for sequence in pending.keys.sorted() {
            guard let entry = pending[sequence], let expected = next else { continue }
            if sequence > expected {
                statistics.lost += Int(sequence - expected)
                gapBeforeNext = true
            }
            out.append(Released(packet: entry.packet, sequence: sequence, afterGap: gapBeforeNext))
            gapBeforeNext = false
            statistics.received += 1
            next = sequence + 1
        }
        pending = [:]
        statistics.restarts += 1
        // The new range continues the extended numbering, so sequences keep increasing.
        let base = (next ?? 0) + 0x10000
        start(at: candidate.packet, now: candidate.arrival, extendedBase: base)
        gapBeforeNext = true
        let following = Self.extend(packet.sequenceNumber, near: highest)
        highest = following
        pending[following] = (packet, now)
        return out + release(now: now)
    }

    /// Begins a range at `packet` (its extended number in the cycle at or after `extendedBase`).
    private mutating func start(at packet: RTPPacket, now: Int64, extendedBase: Int64 = 0) {
        let sequence = (extendedBase & ~0xFFFF) | Int64(packet.sequenceNumber)
        next = sequence
        highest = sequence
        pending[sequence] = (packet, now)
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
