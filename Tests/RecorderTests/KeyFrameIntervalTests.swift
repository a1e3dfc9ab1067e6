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

    /// With HLS segments, every segment must be able to end on a key frame at its full length:
    /// the interval divides a segment's frames, and is never longer than the one asked for.
    @Test(arguments: [
        (2.0, 4 as UInt32, 30 as Int32, 60 as Int32),   // 2 s into 4 s: as asked
        (2.0, 5, 30, 50),        // 150 frames a segment: 50 (1.67 s), not 60
        (4.0, 2, 30, 60),        // longer than a segment: one a segment
        (2.0, 7, 24, 42),        // 168 frames: the largest divisor up to 48
        (1.0, 3, 25, 25),
        (1e12, 6, 30, 180),      // whatever the request says
    ])
    func segmentsSetTheInterval(seconds: Double, segment: UInt32, framerate: Int32, expected: Int32) {
        var settings = EncodingSettings.default
        settings.keyFrameInterval = seconds
        settings.framerate = framerate
        let interval = TranscodingWriter.keyFrameFrames(settings, segmentSeconds: segment)
        let asked = TranscodingWriter.keyFrameFrames(settings)
        let segmentFrames = Int32(segment) * framerate
        #expect(segmentFrames % interval == 0 && interval <= asked && interval <= segmentFrames)
        #expect(interval == expected)
    }
}
