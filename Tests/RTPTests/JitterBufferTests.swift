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

/// One packet far out of range — a stray, or one forged with the track's SSRC — must not move
/// the stream: only a packet that follows it confirms a restart there.
@Suite struct JitterBufferRangeTests {
    func feed(_ buffer: inout JitterBuffer, _ sequences: [UInt16], now: Int64 = 0) -> [UInt16] {
        sequences.flatMap { buffer.insert(packet($0), now: now).map(\.packet.sequenceNumber) }
    }

    @Test func aStrayPacketFarAheadDoesNotStopTheStream() {
        var buffer = JitterBuffer(maxDelay: 100)
        #expect(feed(&buffer, Array(0..<10)) == Array(0..<10))
        #expect(feed(&buffer, [30_009]).isEmpty)
        // Time passes: the stray is not released behind a "gap" either.
        #expect(buffer.release(now: 1_000).isEmpty)
        #expect(feed(&buffer, Array(10..<20), now: 1_000) == Array(10..<20))
        #expect(buffer.statistics.late == 0 && buffer.statistics.lost == 0)
        #expect(buffer.statistics.outOfRange == 1 && buffer.statistics.restarts == 0)
    }

    @Test func aStrayPacketFarBehindIsDroppedWithoutHarm() {
        var buffer = JitterBuffer(maxDelay: 100)
        #expect(feed(&buffer, Array(1000..<1010)) == Array(1000..<1010))
        #expect(feed(&buffer, [500, 40_000]).isEmpty)
        #expect(feed(&buffer, Array(1010..<1015)) == Array(1010..<1015))
        #expect(buffer.statistics.outOfRange == 2 && buffer.statistics.late == 0)
    }

    @Test func aRestartConfirmedByTheNextPacketIsFollowed() {
        var buffer = JitterBuffer(maxDelay: 100)
        _ = feed(&buffer, Array(0..<10))
        #expect(feed(&buffer, [40_000]).isEmpty)
        let released = buffer.insert(packet(40_001), now: 0)
        #expect(released.map(\.packet.sequenceNumber) == [40_000, 40_001])
        #expect(released.first?.afterGap == true)
        #expect(feed(&buffer, [40_002, 40_003]) == [40_002, 40_003])
        #expect(buffer.statistics.restarts == 1 && buffer.statistics.outOfRange == 0)
        // The old range is over: its packets are now the strays.
        #expect(feed(&buffer, [10]).isEmpty)
    }

    @Test func aRestartReleasesWhatTheOldRangeStillHeld() {
        var buffer = JitterBuffer(maxDelay: 1_000)
        _ = feed(&buffer, [0, 1, 2, 4, 5])
        let released = feed(&buffer, [20_000, 20_001])
        #expect(released == [4, 5, 20_000, 20_001])
        #expect(buffer.statistics.lost == 1 && buffer.statistics.restarts == 1)
    }

    @Test func twoStraysThatDoNotFollowEachOtherConfirmNothing() {
        var buffer = JitterBuffer(maxDelay: 100)
        _ = feed(&buffer, Array(0..<5))
        #expect(feed(&buffer, [30_000, 30_005, 50_000]).isEmpty)
        #expect(feed(&buffer, [5, 6]) == [5, 6])
        #expect(buffer.statistics.outOfRange == 3 && buffer.statistics.restarts == 0)
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
