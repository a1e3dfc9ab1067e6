import Testing
@testable import RTP

private func packet(_ payload: [UInt8], marker: Bool = false) -> RTPPacket {
    RTPPacket(marker: marker, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 1, payload: payload[...])
}

@Suite struct H264DepacketizerTests {
    let sps: [UInt8] = [0x67, 1, 2], pps: [UInt8] = [0x68, 3], idr: [UInt8] = [0x65] + Array(repeating: 0xAB, count: 10)

    @Test func stapAAndFragmentsMakeOneAnnexBAccessUnit() {
        var depacketizer = H264Depacketizer()
        let stap: [UInt8] = [0x78, 0, 3] + sps + [0, 2] + pps
        let fuStart: [UInt8] = [0x7C, 0x85] + idr[1..<6]
        let fuEnd: [UInt8] = [0x7C, 0x45] + idr[6...]
        #expect(depacketizer.push(packet(stap), timestamp: 1000, afterGap: false).isEmpty)
        #expect(depacketizer.push(packet(fuStart), timestamp: 1000, afterGap: false).isEmpty)
        let frames = depacketizer.push(packet(fuEnd, marker: true), timestamp: 1000, afterGap: false)
        #expect(frames.count == 1)
        #expect(frames[0].isKeyframe)
        #expect(frames[0].timestamp == 1000)
        #expect(frames[0].data == [0, 0, 0, 1] + sps + [0, 0, 0, 1] + pps + [0, 0, 0, 1] + idr)
    }

    @Test func aLossDropsFramesUntilTheNextIDR() {
        var depacketizer = H264Depacketizer()
        let slice: [UInt8] = [0x41, 9, 9]
        #expect(depacketizer.push(packet(idr, marker: true), timestamp: 0, afterGap: false).count == 1)
        #expect(depacketizer.push(packet(slice, marker: true), timestamp: 3000, afterGap: true).isEmpty)
        #expect(depacketizer.push(packet(slice, marker: true), timestamp: 6000, afterGap: false).isEmpty)
        let frames = depacketizer.push(packet(idr, marker: true), timestamp: 9000, afterGap: false)
        #expect(frames.count == 1 && frames[0].isKeyframe && frames[0].followsLoss)
        #expect(depacketizer.push(packet(slice, marker: true), timestamp: 12000, afterGap: false).count == 1)
    }

    @Test func aTimestampChangeEndsAUnitWhoseMarkerWasNotSent() {
        var depacketizer = H264Depacketizer()
        #expect(depacketizer.push(packet(idr), timestamp: 0, afterGap: false).isEmpty)
        let frames = depacketizer.push(packet([0x41, 1], marker: true), timestamp: 3000, afterGap: false)
        #expect(frames.map(\.timestamp) == [0, 3000])
    }
}

@Suite struct VP8DepacketizerTests {
    // A key frame's first bytes: frame tag with P=0, then the start code and a 320x240 size.
    let keyframe: [UInt8] = [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00, 7, 7]

    @Test func joinsPartitionsAndStripsDescriptors() {
        var depacketizer = VP8Depacketizer()
        // X=1 with a 15-bit picture id, S=1, partition 0.
        let first: [UInt8] = [0x90, 0x80, 0x81, 0x23] + keyframe[0..<6]
        let second: [UInt8] = [0x80, 0x80, 0x81, 0x23] + keyframe[6...]
        #expect(depacketizer.push(packet(first), timestamp: 0, afterGap: false).isEmpty)
        let frames = depacketizer.push(packet(second, marker: true), timestamp: 0, afterGap: false)
        #expect(frames.count == 1 && frames[0].isKeyframe && frames[0].data == keyframe)
    }

    /// A frame that lost its first packet and its last (no marker closes it) leaves nothing in
    /// front of the next frame: a key frame after it starts with its own frame tag and start code.
    @Test func aFrameThatLostItsStartAndEndLeavesNothingBehind() {
        var depacketizer = VP8Depacketizer()
        #expect(depacketizer.push(packet([0x10] + keyframe, marker: true), timestamp: 0, afterGap: false).count == 1)
        // The middle of a frame (S=0) after a gap; its first and last packets never come.
        #expect(depacketizer.push(packet([0x00, 0x00, 0x44, 0x55]), timestamp: 3000, afterGap: true).isEmpty)
        let frames = depacketizer.push(packet([0x10] + keyframe, marker: true), timestamp: 6000, afterGap: true)
        #expect(frames.count == 1)
        #expect(frames.first?.data == keyframe)
        #expect(frames.first?.isKeyframe == true)
    }

    @Test func interFramesAfterALossWaitForAKeyFrame() {
        var depacketizer = VP8Depacketizer()
        let inter: [UInt8] = [0x11, 0x01, 0, 0]  // P=1: an inter frame
        #expect(depacketizer.push(packet([0x10] + keyframe, marker: true), timestamp: 0, afterGap: false).count == 1)
        #expect(depacketizer.push(packet([0x10] + inter, marker: true), timestamp: 3000, afterGap: true).isEmpty)
        #expect(depacketizer.push(packet([0x10] + keyframe, marker: true), timestamp: 6000, afterGap: false).count == 1)
    }
}
