/// RTP header extensions (RFC 8285): the one-byte (`0xBEDE`) and two-byte (`0x100x`) forms that
/// WebRTC senders use, read with every length checked against the packet.
public enum RTPHeaderExtension {
    /// The value of extension `id` in an RTP packet's header, if it has one.
    public static func value(of id: UInt8, in packet: [UInt8]) -> ArraySlice<UInt8>? {
        guard packet.count >= 12, packet[0] >> 6 == 2, packet[0] & 0x10 != 0, id > 0 else { return nil }
        let start = 12 + 4 * Int(packet[0] & 0x0F)
        guard packet.count >= start + 4 else { return nil }
        let profile = UInt16(packet[start]) << 8 | UInt16(packet[start + 1])
        let end = start + 4 + 4 * (Int(packet[start + 2]) << 8 | Int(packet[start + 3]))
        guard end <= packet.count else { return nil }
        var offset = start + 4
        if profile == 0xBEDE {
            while offset < end {
                let byte = packet[offset]
                if byte == 0 { offset += 1; continue }  // padding
                let elementID = byte >> 4, length = Int(byte & 0x0F) + 1
                guard elementID != 15, offset + 1 + length <= end else { return nil }  // 15: stop reading
                if elementID == id { return packet[(offset + 1)..<(offset + 1 + length)] }
                offset += 1 + length
            }
        } else if profile & 0xFFF0 == 0x1000 {
            while offset < end {
                let elementID = packet[offset]
                if elementID == 0 { offset += 1; continue }
                guard offset + 2 <= end else { return nil }
                let length = Int(packet[offset + 1])
                guard offset + 2 + length <= end else { return nil }
                if elementID == id { return packet[(offset + 2)..<(offset + 2 + length)] }
                offset += 2 + length
            }
        }
        return nil
    }
}
