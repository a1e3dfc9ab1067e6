/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01):
/// the receiver notes when each packet with a transport-wide sequence number arrived and tells
/// the sender in RTCP (PT 205, FMT 15), so that the sender's congestion controller (Chrome's
/// GoogCC) can estimate the path and ramp its bitrate up. One per WebRTC session.
public struct TransportWideFeedback: Sendable {
    /// Arrivals not yet reported: extended sequence number → monotonic ns.
    private var arrivals: [Int64: Int64] = [:]
    /// The first sequence number the next feedback reports.
    private var nextBase: Int64?
    private var highest: Int64 = 0
    private var feedbackCount: UInt8 = 0

    /// Most packets one feedback describes (and arrivals kept while none is sent).
    public static let maxPacketsPerFeedback = 1000

    public init() {}

    /// Notes the arrival of the packet with transport-wide sequence number `sequence`.
    public mutating func arrived(_ sequence: UInt16, at now: Int64) {
        let extended = nextBase == nil ? Int64(sequence) : JitterBuffer.extend(sequence, near: highest)
        if nextBase == nil { (nextBase, highest) = (extended, extended) }
        guard let base = nextBase, extended >= base, extended < base + Int64(Self.maxPacketsPerFeedback) * 4 else { return }
        highest = max(highest, extended)
        if arrivals.count < Self.maxPacketsPerFeedback * 2 { arrivals[extended] = now }
    }

    /// The feedback packet for what arrived since the last one; nil when nothing did.
    public mutating func feedback(sender: UInt32, mediaSource: UInt32) -> [UInt8]? {
        guard let base = nextBase, !arrivals.isEmpty else { return nil }
        let last = min(highest, base + Int64(Self.maxPacketsPerFeedback) - 1)
        let received = arrivals.filter { $0.key >= base && $0.key <= last }.sorted { $0.key < $1.key }
        guard let first = received.first else {
            // Nothing of this stretch came: it is passed over.
            nextBase = last + 1
            return nil
        }
        // Reference time: the first arrival, in 64 ms units (24 bits, wrapping).
        let reference = first.value / 64_000_000
        var previous = reference * 64_000_000
        var symbols: [UInt8] = []
        var deltas: [UInt8] = []
        var index = received.startIndex
        for sequence in base...last {
            guard index < received.endIndex, received[index].key == sequence else {
                symbols.append(0)  // not received
                continue
            }
            let arrival = received[index].value
            index += 1
            let delta = Int16(clamping: (arrival - previous) / 250_000)  // 250 µs units
            if (0...255).contains(delta) {
                symbols.append(1)
                deltas.append(UInt8(delta))
            } else {
                symbols.append(2)
                deltas.append(UInt8(truncatingIfNeeded: UInt16(bitPattern: delta) >> 8))
                deltas.append(UInt8(truncatingIfNeeded: UInt16(bitPattern: delta)))
            }
            previous += Int64(delta) * 250_000
        }
        var out: [UInt8] = [0x8F, 205, 0, 0]
        out.appendBigEndian(sender)
        out.appendBigEndian(mediaSource)
        out.appendBigEndian16(UInt16(truncatingIfNeeded: base))
        out.appendBigEndian16(UInt16(symbols.count))
        out.append(UInt8(truncatingIfNeeded: reference >> 16))
        out.append(UInt8(truncatingIfNeeded: reference >> 8))
        out.append(UInt8(truncatingIfNeeded: reference))
        out.append(feedbackCount)
        feedbackCount &+= 1
        // Status vector chunks of seven two-bit symbols each.
        for start in stride(from: 0, to: symbols.count, by: 7) {
            var chunk: UInt16 = 0xC000
            for (position, symbol) in symbols[start..<min(start + 7, symbols.count)].enumerated() {
                chunk |= UInt16(symbol) << (12 - 2 * position)
            }
            out.appendBigEndian16(chunk)
        }
        out += deltas
        while out.count % 4 != 0 { out.append(0) }
        let words = out.count / 4 - 1
        out[2] = UInt8(words >> 8)
        out[3] = UInt8(words & 0xFF)
        nextBase = last + 1
        arrivals = arrivals.filter { $0.key > last }
        return out
    }
}
