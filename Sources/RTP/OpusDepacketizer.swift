/// RFC 7587: every RTP packet carries exactly one Opus packet. Nothing to assemble; a loss is
/// marked on the next packet so the decoder can conceal it.
public struct OpusDepacketizer: Depacketizer {
    public init() {}

    public mutating func push(_ packet: RTPPacket, timestamp: Int64, afterGap: Bool) -> [EncodedFrame] {
        guard !packet.payload.isEmpty else { return [] }
        return [EncodedFrame(data: Array(packet.payload), timestamp: timestamp, isKeyframe: true, followsLoss: afterGap)]
    }
}
