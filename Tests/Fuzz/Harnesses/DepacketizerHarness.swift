import RTP

/// The depacketizers on their own, fed RTP packets as they come (no jitter buffer): a packet
/// follows a gap when its sequence number is not the previous one's successor, and timestamps
/// are extended as the hub extends them (`RTPClock.extend`).
///
/// Input: `[codec]` (modulo 3: H.264, VP8, Opus) then datagram records (`FuzzInput.datagram`;
/// their delay byte is ignored), each an RTP packet.
enum DepacketizerHarness {
    static let codecs: [RTPCodec] = [.h264, .vp8, .opus]

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let codec = codecs[Int(input.byte()) % codecs.count]
        var depacketizer: any Depacketizer = switch codec {
        case .h264: H264Depacketizer()
        case .vp8: VP8Depacketizer()
        case .opus: OpusDepacketizer()
        }
        var clock = RTPClock(clockRate: codec.defaultClockRate)
        var previous: UInt16?
        while let (_, datagram) = input.datagram() {
            guard let packet = RTPPacket(parsing: datagram) else { continue }
            let afterGap = previous.map { packet.sequenceNumber != $0 &+ 1 } ?? false
            previous = packet.sequenceNumber
            let timestamp = clock.extend(packet.timestamp)
            for frame in depacketizer.push(packet, timestamp: timestamp, afterGap: afterGap) {
                precondition(!frame.data.isEmpty, "an empty \(codec) frame")
            }
        }
    }
}
