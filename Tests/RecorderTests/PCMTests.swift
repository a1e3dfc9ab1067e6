import Testing
@testable import Recorder

@Suite struct PCMTests {
    @Test func floatSamplesBecomeLittleEndianSixteenBitClipped() {
        let bytes = WebSocketPCMOutput.pcm16([0, 1, -1, 0.5, 2, -3][...])
        #expect(bytes == [0x00, 0x00, 0xFF, 0x7F, 0x01, 0x80, 0x00, 0x40, 0xFF, 0x7F, 0x01, 0x80])
    }

    @Test func aMessageIsTenMillisecondsOfStereo() {
        #expect(WebSocketPCMOutput.pcm16([Float](repeating: 0, count: WebSocketPCMOutput.messageFrames * 2)[...]).count == 1920)
    }
}
