import SessionManager
import Testing
@testable import Recorder

/// The key frame interval comes from the request as seconds (a Double): turned into frames
/// without a trapping conversion, whatever it holds.
@Suite struct KeyFrameIntervalTests {
    func frames(_ seconds: Double, framerate: Int32 = 30) -> Int32 {
        var settings = EncodingSettings.default
        settings.keyFrameInterval = seconds
        settings.framerate = framerate
        return TranscodingWriter.keyFrameFrames(settings)
    }

    @Test func secondsBecomeFrames() {
        #expect(frames(0) == 60)  // the default: 2 s
        #expect(frames(1.5) == 45)
        #expect(frames(0.001) == 1)
    }

    @Test func numbersFromTheNetworkNeverTrap() {
        #expect(frames(1e12) == Int32.max)
        #expect(frames(.infinity) == Int32.max)
        #expect(frames(.nan) == 60 && frames(-5) == 60)  // not a positive interval: the default
    }
}
