/// One RTP packet (RFC 3550), parsed from a datagram. The payload is a slice of the datagram's
/// bytes, without padding, header extension or CSRCs.
public struct RTPPacket: Sendable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var payload: ArraySlice<UInt8>

    public init(marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                payload: ArraySlice<UInt8>) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
    }

    /// Parses `bytes`, or returns nil when they are not a well-formed RTP version 2 packet.
    public init?(parsing bytes: [UInt8]) {
        guard bytes.count >= 12, bytes[0] >> 6 == 2 else { return nil }
        let hasPadding = bytes[0] & 0x20 != 0
        let hasExtension = bytes[0] & 0x10 != 0
        let csrcCount = Int(bytes[0] & 0x0F)
        var start = 12 + 4 * csrcCount
        guard bytes.count >= start else { return nil }
        if hasExtension {
            guard bytes.count >= start + 4 else { return nil }
            let words = Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
            start += 4 + 4 * words
        }
        var end = bytes.count
        if hasPadding {
            let padding = Int(bytes[end - 1])
            guard padding > 0 else { return nil }
            end -= padding
        }
        guard start <= end else { return nil }
        marker = bytes[1] & 0x80 != 0
        payloadType = bytes[1] & 0x7F
        sequenceNumber = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        timestamp = bytes.bigEndianUInt32(at: 4)
        ssrc = bytes.bigEndianUInt32(at: 8)
        payload = bytes[start..<end]
    }

    /// Serializes the packet (no padding, extension or CSRCs); used by test senders.
    public var bytes: [UInt8] {
        var out: [UInt8] = [0x80, (marker ? 0x80 : 0) | payloadType,
                            UInt8(sequenceNumber >> 8), UInt8(sequenceNumber & 0xFF)]
        out.appendBigEndian(timestamp)
        out.appendBigEndian(ssrc)
        out.append(contentsOf: payload)
        return out
    }

    /// Whether a datagram on a shared RTP/RTCP port is RTCP (RFC 5761: packet types 192-223 —
    /// reports, and the feedback of RFC 4585 at 205 and 206 — fall where RTP payload types 64-95
    /// with the marker bit would, which dynamic payload types never use).
    public static func isRTCP(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && bytes[0] >> 6 == 2 && (192...223).contains(bytes[1])
    }
}

extension [UInt8] {
    func bigEndianUInt32(at index: Int) -> UInt32 {
        UInt32(self[index]) << 24 | UInt32(self[index + 1]) << 16 | UInt32(self[index + 2]) << 8 | UInt32(self[index + 3])
    }

    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
