import Testing
@testable import Recorder

@Suite struct AudioTimelineTests {
    /// 1 kHz timeline: 1 sample frame per millisecond, so positions read easily.
    func ms(_ value: Int64) -> Int64 { value * 1_000_000 }

    @Test func gapsBecomeSilence() {
        var timeline = AudioTimeline(rate: 1000)
        timeline.place([Float](repeating: 1, count: 20), at: ms(0))  // 10 frames
        timeline.place([Float](repeating: 2, count: 20), at: ms(100))
        let out = timeline.take(110)
        #expect(out[0] == 1 && out[19] == 1)
        #expect(out[20..<200].allSatisfy { $0 == 0 })
        #expect(out[200] == 2 && out[219] == 2)
        #expect(timeline.start == 110)
    }

    @Test func smallJitterKeepsFramesContiguous() {
        var timeline = AudioTimeline(rate: 1000)
        timeline.place([Float](repeating: 1, count: 20), at: ms(0))
        timeline.place([Float](repeating: 2, count: 20), at: ms(13))  // 3 ms late: still contiguous
        let out = timeline.take(20)
        #expect(out[18..<22] == [1, 1, 2, 2])
    }

    @Test func aTimelineJoiningLaterStartsWhereTheOutputIs() {
        var timeline = AudioTimeline(rate: 1000, start: 500)
        timeline.place([Float](repeating: 1, count: 20), at: ms(505))
        let out = timeline.take(20)
        #expect(out[0..<10].allSatisfy { $0 == 0 } && out[10..<30].allSatisfy { $0 == 1 })
    }

    @Test func routingSendsAMonoMixToOneSide() {
        let stereo: [Float] = [1, 0, 0.5, 0.5]
        #expect(AudioMix.route(stereo, to: .left) == [0.5, 0, 0.5, 0])
        #expect(AudioMix.route(stereo, to: .right) == [0, 0.5, 0, 0.5])
        #expect(AudioMix.route(stereo, to: .both) == stereo)
    }

    @Test func samplesBeforeWhatWasWrittenAreDropped() {
        var timeline = AudioTimeline(rate: 1000)
        _ = timeline.take(50)
        timeline.place([Float](repeating: 3, count: 200), at: ms(0))  // frames 0-99: half already past
        let out = timeline.take(60)
        #expect(out.prefix(100).allSatisfy { $0 == 3 })
        #expect(out[100...].allSatisfy { $0 == 0 })
    }
}
