import Testing
@testable import RTP

/// Transport-wide feedback as the draft lays it out, read back by a small reader written from the
/// draft (not from the writer): header, base, count, reference time, chunks, deltas.
struct TransportWideFeedbackTests {
    struct Parsed {
        var base: UInt16
        var count: Int
        var reference: Int
        var feedbackCount: UInt8
        var statuses: [UInt8]
        var deltas: [Int]
    }

    static func parse(_ packet: [UInt8]) -> Parsed? {
        guard packet.count >= 20, packet[0] == 0x8F, packet[1] == 205 else { return nil }
        let length = ((Int(packet[2]) << 8 | Int(packet[3])) + 1) * 4
        guard length == packet.count else { return nil }
        let base = UInt16(packet[12]) << 8 | UInt16(packet[13])
        let count = Int(packet[14]) << 8 | Int(packet[15])
        let reference = Int(packet[16]) << 16 | Int(packet[17]) << 8 | Int(packet[18])
        var statuses: [UInt8] = []
        var offset = 20
        while statuses.count < count {
            guard offset + 2 <= packet.count else { return nil }
            let chunk = UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
            offset += 2
            if chunk & 0x8000 == 0 {
                let symbol = UInt8(chunk >> 13 & 0x3), run = Int(chunk & 0x1FFF)
                statuses += Array(repeating: symbol, count: run)
            } else if chunk & 0x4000 == 0 {
                for bit in 0..<14 { statuses.append(UInt8(chunk >> (13 - bit) & 0x1)) }
            } else {
                for symbol in 0..<7 { statuses.append(UInt8(chunk >> (12 - 2 * symbol) & 0x3)) }
            }
        }
        statuses = Array(statuses.prefix(count))
        var deltas: [Int] = []
        for status in statuses where status != 0 {
            if status == 1 {
                deltas.append(Int(packet[offset]))
                offset += 1
            } else {
                deltas.append(Int(Int16(bitPattern: UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1]))))
                offset += 2
            }
        }
        guard offset <= packet.count else { return nil }
        return Parsed(base: base, count: count, reference: reference, feedbackCount: packet[19], statuses: statuses, deltas: deltas)
    }

    @Test func arrivalsAndLossesAreReportedWithTheirDeltas() throws {
        var feedback = TransportWideFeedback()
        let start: Int64 = 10 * 64_000_000  // a whole reference-time unit
        // 65534, 65535, 0 (a wrap), 2 (1 lost), 3 arriving 100 ms later (a large delta).
        feedback.arrived(65_534, at: start)
        feedback.arrived(65_535, at: start + 1_000_000)
        feedback.arrived(0, at: start + 2_000_000)
        feedback.arrived(2, at: start + 3_000_000)
        feedback.arrived(3, at: start + 103_000_000)
        let packetBytes = feedback.feedback(sender: 1, mediaSource: 2)
        let packet = try #require(packetBytes)
        let parsed = try #require(Self.parse(packet))
        #expect(parsed.base == 65_534 && parsed.count == 6 && parsed.reference == 10 && parsed.feedbackCount == 0)
        #expect(parsed.statuses == [1, 1, 1, 0, 1, 2])
        #expect(parsed.deltas == [0, 4, 4, 4, 400])
        // Nothing new: no feedback; the next one starts after what was reported and counts on.
        let nothing = feedback.feedback(sender: 1, mediaSource: 2)
        #expect(nothing == nil)
        feedback.arrived(4, at: start + 104_000_000)
        let nextPacketBytes = feedback.feedback(sender: 1, mediaSource: 2)
        let nextPacket = try #require(nextPacketBytes)
        let next = try #require(Self.parse(nextPacket))
        #expect(next.base == 4 && next.count == 1 && next.feedbackCount == 1)
    }

    @Test func oneFeedbackDescribesABoundedNumberOfPackets() throws {
        var feedback = TransportWideFeedback()
        for sequence in 0..<3000 { feedback.arrived(UInt16(sequence), at: Int64(sequence) * 1_000_000) }
        let firstPacketBytes = feedback.feedback(sender: 1, mediaSource: 2)
        let firstPacket = try #require(firstPacketBytes)
        let first = try #require(Self.parse(firstPacket))
        #expect(first.count == TransportWideFeedback.maxPacketsPerFeedback)
        let secondPacketBytes = feedback.feedback(sender: 1, mediaSource: 2)
        let secondPacket = try #require(secondPacketBytes)
        let second = try #require(Self.parse(secondPacket))
        #expect(Int(second.base) == TransportWideFeedback.maxPacketsPerFeedback)
    }

    @Test func headerExtensionsAreReadInBothFormsAndNeverPastThePacket() {
        // One-byte form: id 3 (2 bytes: 0x01 0x02), padding, id 5 (1 byte).
        let oneByte: [UInt8] = [0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 2, 0x31, 0x01, 0x02, 0x00, 0x50, 0x07, 0, 0, 0xAA]
        #expect(RTPHeaderExtension.value(of: 3, in: oneByte).map(Array.init) == [1, 2])
        #expect(RTPHeaderExtension.value(of: 5, in: oneByte).map(Array.init) == [7])
        #expect(RTPHeaderExtension.value(of: 4, in: oneByte) == nil)
        // Two-byte form: id 3, length 2.
        let twoByte: [UInt8] = [0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 3, 2, 0x0A, 0x0B, 0xAA]
        #expect(RTPHeaderExtension.value(of: 3, in: twoByte).map(Array.init) == [0x0A, 0x0B])
        // A length past the extension block, a block past the packet, no extension bit: nothing.
        var long = oneByte
        long[16] = 0x3F
        #expect(RTPHeaderExtension.value(of: 3, in: long) == nil)
        #expect(RTPHeaderExtension.value(of: 3, in: Array(oneByte.prefix(18))) == nil)
        var plain = oneByte
        plain[0] = 0x80
        #expect(RTPHeaderExtension.value(of: 3, in: plain) == nil)
    }
}
