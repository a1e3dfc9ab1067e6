import RTP

/// The datagrams of one track's RTP port, through the steps the hub takes for each: RTCP or RTP
/// (`isRTCP`), sender reports (`RTCPSenderReport.parse(compound:)`) into an `RTPClock`, RTP
/// packets (`RTPPacket(parsing:)`) into a `JitterBuffer`, what it releases into a depacketizer,
/// and each frame's time through the clock.
///
/// Input: `[flags]` then datagram records (`FuzzInput.datagram`). Flags: bits 0-1 the codec
/// (H.264, VP8, Opus, H.264), bits 2-6 the jitter buffer's capacity (1...32 packets).
enum RTPHarness {
    static let codecs: [RTPCodec] = [.h264, .vp8, .opus, .h264]
    /// Nanoseconds a packet waits for a missing predecessor (the hub's default is 150 ms).
    static let maxDelay: Int64 = 150_000_000

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let codec = codecs[Int(flags & 0x3)]
        var jitter = JitterBuffer(maxDelay: maxDelay, capacity: 1 + Int(flags >> 2 & 0x1F))
        var depacketizer = codec.makeDepacketizer()
        var clock = RTPClock(clockRate: codec.defaultClockRate)
        var now: Int64 = 1_000_000_000

        func deliver(_ items: [JitterBuffer.Released]) {
            for item in items {
                let timestamp = clock.extend(item.packet.timestamp)
                for frame in depacketizer.push(item.packet, timestamp: timestamp, afterGap: item.afterGap) {
                    _ = clock.wallClock(of: frame.timestamp)
                }
            }
        }

        while let (delay, datagram) = input.datagram() {
            now += Int64(delay) * 1_000_000
            deliver(jitter.release(now: now))
            if RTPPacket.isRTCP(datagram) {
                for report in RTCPSenderReport.parse(compound: datagram) { clock.apply(report) }
                continue
            }
            guard let packet = RTPPacket(parsing: datagram) else { continue }
            let timestamp = clock.extend(packet.timestamp)
            clock.observe(timestamp: timestamp, arrival: now)
            deliver(jitter.insert(packet, now: now))
        }
        // Every packet has now waited its maxDelay: none may be held back any longer.
        deliver(jitter.release(now: now + maxDelay))
        precondition(!jitter.hasPending, "packets still wait in the jitter buffer after maxDelay")
    }
}
