import Support

/// Decoded audio placed on the recording's timeline: samples go where their timestamps say,
/// gaps become silence, and small drifts are absorbed so contiguous frames stay contiguous.
struct AudioTimeline {
    let rate: Int64
    /// The timeline index (in sample frames) of `buffer`'s first sample frame.
    private(set) var start: Int64 = 0
    /// Interleaved stereo.
    private var buffer: [Float] = []
    /// Where the next contiguous frame would go.
    private var expectedNext: Int64?

    /// - Parameter start: the timeline index of the first sample frame it will give (a track that
    ///   joins later starts where the output is).
    init(rate: Int32, start: Int64 = 0) {
        self.rate = Int64(rate)
        self.start = start
    }

    /// Places interleaved stereo `samples` that begin at `position` (ns).
    mutating func place(_ samples: [Float], at position: Int64) {
        let count = Int64(samples.count / 2)
        guard count > 0 else { return }
        guard var at = position.rescaled(by: rate, over: 1_000_000_000) else { return }
        // Within 20 ms of where the previous frame ended: treat as contiguous (clock jitter).
        if let expected = expectedNext, abs(at - expected) <= rate / 50 { at = expected }
        expectedNext = at + count
        let skip = max(0, start - at)
        guard skip < count else { return }  // entirely in the past: already written
        let offset = Int(at + skip - start) * 2
        let needed = offset + Int(count - skip) * 2
        if buffer.count < needed { buffer.append(contentsOf: repeatElement(0, count: needed - buffer.count)) }
        buffer.replaceSubrange(offset..<needed, with: samples[Int(skip) * 2..<samples.count])
    }

    /// The next `frames` sample frames (silence where nothing was placed).
    mutating func take(_ frames: Int) -> [Float] {
        let wanted = frames * 2
        var out = Array(buffer.prefix(wanted))
        if out.count < wanted { out.append(contentsOf: repeatElement(0, count: wanted - out.count)) }
        buffer.removeFirst(min(wanted, buffer.count))
        start += Int64(frames)
        return out
    }
}
