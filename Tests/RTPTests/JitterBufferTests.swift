import Testing
@testable import RTP

private func packet(_ sequence: UInt16, marker: Bool = false, timestamp: UInt32 = 0, payload: [UInt8] = [1]) -> RTPPacket {
    RTPPacket(marker: marker, payloadType: 96, sequenceNumber: sequence, timestamp: timestamp, ssrc: 1, payload: payload[...])
}

@Suite struct JitterBufferTests {
    @Test func inOrderPacketsAreReleasedAtOnce() {
        var buffer = JitterBuffer(maxDelay: 100)
        for sequence in UInt16(10)..<15 {
            #expect(buffer.insert(packet(sequence), now: 0).map(\.packet.sequenceNumber) == [sequence])
        }
        #expect(buffer.statistics.received == 5)
    }

    @Test func reorderedPacketsComeOutInOrder() {
        var buffer = JitterBuffer(maxDelay: 100)
        _ = buffer.insert(packet(1), now: 0)
        #expect(buffer.insert(packet(3), now: 1).isEmpty)
        #expect(buffer.insert(packet(2), now: 2).map(\.packet.sequenceNumber) == [2, 3])
        #expect(buffer.statistics.reordered == 1)
        #expect(buffer.statistics.lost == 0)
    }

    @Test func aGapIsGivenUpAfterTheDelayAndCountedAsLost() {
        var buffer = JitterBuffer(maxDelay: 100)
        _ = buffer.insert(packet(1), now: 0)
        #expect(buffer.insert(packet(4), now: 10).isEmpty)
        #expect(buffer.release(now: 50).isEmpty)
        let released = buffer.release(now: 110)
        #expect(released.map(\.packet.sequenceNumber) == [4])
        #expect(released.first?.afterGap == true)
        #expect(buffer.statistics.lost == 2)
        // The lost packets arriving now are late, not duplicates.
        #expect(buffer.insert(packet(2), now: 120).isEmpty)
        #expect(buffer.statistics.late == 1)
    }

    @Test func duplicatesAreDropped() {
        var buffer = JitterBuffer(maxDelay: 100)
        _ = buffer.insert(packet(1), now: 0)
        _ = buffer.insert(packet(3), now: 0)
        #expect(buffer.insert(packet(3), now: 0).isEmpty)
        #expect(buffer.statistics.duplicates == 1)
    }

    @Test func sequenceNumbersWrapAround() {
        var buffer = JitterBuffer(maxDelay: 100)
        var out: [UInt16] = []
        for sequence: UInt16 in [65534, 0, 65535, 1] { out += buffer.insert(packet(sequence), now: 0).map(\.packet.sequenceNumber) }
        #expect(out == [65534, 65535, 0, 1])
        #expect(buffer.statistics.lost == 0)
    }

    @Test func aFullBufferSkipsItsGapWithoutWaiting() {
        var buffer = JitterBuffer(maxDelay: 1_000_000, capacity: 4)
        _ = buffer.insert(packet(0), now: 0)
        for sequence in UInt16(2)..<5 { #expect(buffer.insert(packet(sequence), now: 0).isEmpty) }
        #expect(buffer.insert(packet(5), now: 0).map(\.packet.sequenceNumber) == [2, 3, 4, 5])
    }
}

@Suite struct RTPPacketTests {
    @Test func parsesAndSerializes() throws {
        let original = RTPPacket(marker: true, payloadType: 111, sequenceNumber: 513, timestamp: 0xDEADBEEF, ssrc: 42, payload: [9, 8, 7][...])
        let parsed = try #require(RTPPacket(parsing: original.bytes))
        #expect(parsed.marker && parsed.payloadType == 111 && parsed.sequenceNumber == 513)
        #expect(parsed.timestamp == 0xDEADBEEF && parsed.ssrc == 42 && Array(parsed.payload) == [9, 8, 7])
    }

    @Test func skipsCSRCsExtensionAndPadding() throws {
        var bytes: [UInt8] = [0x80 | 0x20 | 0x10 | 0x01, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]
        bytes += [0, 0, 0, 3]  // one CSRC
        bytes += [0xBE, 0xDE, 0, 1, 1, 2, 3, 4]  // extension of one word
        bytes += [0xAA, 0xBB]  // payload
        bytes += [0, 0, 3]  // three bytes of padding
        let parsed = try #require(RTPPacket(parsing: bytes))
        #expect(Array(parsed.payload) == [0xAA, 0xBB])
    }

    @Test func rejectsWhatIsNotRTP() {
        #expect(RTPPacket(parsing: [0x40, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]) == nil)  // version 1
        #expect(RTPPacket(parsing: [0x80, 96, 0]) == nil)
    }

    @Test func senderReportsRoundTripThroughACompoundPacket() {
        let report = RTCPSenderReport(ssrc: 7, wallClock: 1_700_000_000_123_456_000, rtpTimestamp: 90_000)
        let receiverReport: [UInt8] = [0x80, 201, 0, 1, 0, 0, 0, 7]
        let parsed = RTCPSenderReport.parse(compound: report.bytes + receiverReport)
        #expect(parsed.count == 1)
        #expect(parsed[0].ssrc == 7 && parsed[0].rtpTimestamp == 90_000)
        #expect(abs(parsed[0].wallClock - report.wallClock) < 1000)
        #expect(RTPPacket.isRTCP(report.bytes))
    }

    @Test func theClockExtendsTimestampsAcrossTheWrapAndFollowsSenderReports() {
        var clock = RTPClock(clockRate: 90_000)
        let a = clock.extend(0xFFFF_FF00)
        let b = clock.extend(0x0000_0100)
        #expect(b - a == 0x200)
        clock.observe(timestamp: a, arrival: 1_000_000_000)
        #expect(clock.wallClock(of: a + 90_000) == 2_000_000_000)
        clock.apply(RTCPSenderReport(ssrc: 1, wallClock: 5_000_000_000, rtpTimestamp: 0x0000_0100))
        #expect(clock.wallClock(of: b + 45_000) == 5_500_000_000)
    }
}
