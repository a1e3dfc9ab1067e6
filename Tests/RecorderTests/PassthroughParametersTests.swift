import Media
import RTP
import Testing
@testable import Recorder

@Suite struct PassthroughParametersTests {
    @Test func annexBSplitsOnThreeAndFourByteStartCodes() {
        let data: [UInt8] = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9, 9]
        #expect(AnnexB.nalUnits(data).map(Array.init) == [[0x67, 1, 2], [0x68, 3], [0x65, 9, 9]])
        #expect(AnnexB.parameterSets(data) == [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3])
    }

    @Test func vp8KeyFramesGiveTheirSize() throws {
        // Frame tag (key frame), start code, then 14-bit width 640 and height 360.
        let keyframe = EncodedFrame(data: [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01, 0], timestamp: 0, isKeyframe: true)
        guard case .vp8(let width, let height) = try PassthroughWriter.parameters(of: keyframe, codec: .vp8) else {
            Issue.record("not VP8 parameters")
            return
        }
        #expect((width, height) == (640, 360))
    }

    @Test func aMalformedVP8KeyFrameIsRefused() {
        let broken = EncodedFrame(data: [0x10, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0], timestamp: 0, isKeyframe: true)
        #expect { try PassthroughWriter.parameters(of: broken, codec: .vp8) } throws: { error in
            (error as? RecorderError)?.description == "malformed VP8 key frame"
        }
    }
}
