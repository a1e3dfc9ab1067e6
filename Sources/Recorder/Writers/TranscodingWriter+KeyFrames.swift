import SessionManager

/// Where the encoders put key frames: every segment of every HLS output starts on one.
extension TranscodingWriter {
    /// The greatest common divisor of `values` (nil when there are none).
    static func commonDivisor(of values: [UInt32]) -> UInt32? {
        values.reduce(nil) { common, next in
            guard var a = common else { return next }
            var b = next
            while b != 0 { (a, b) = (b, a % b) }
            return a
        }
    }

    /// Frames between key frames: the interval asked for (2 s when it is not a positive number),
    /// at least 1, at most Int32.max; never a trapping conversion of the request's number. With
    /// HLS segments of `segmentSeconds`, the largest count up to that which divides a segment's
    /// frames, so that every segment can be cut on a key frame at its full length.
    static func keyFrameFrames(_ settings: EncodingSettings, segmentSeconds: UInt32? = nil) -> Int32 {
        let seconds = settings.keyFrameInterval > 0 ? settings.keyFrameInterval : 2
        let frames = (seconds * Double(settings.framerate)).rounded()
        let asked: Int32 = frames < 1 ? 1 : frames < Double(Int32.max) ? Int32(frames) : Int32.max
        guard let segmentSeconds, segmentSeconds > 0 else { return asked }
        // Both at most 3600 s × 240 fps: no overflow in Int64.
        let segmentFrames = Int64(segmentSeconds) * Int64(max(1, settings.framerate))
        var interval = min(Int64(asked), segmentFrames)
        while interval > 1, segmentFrames % interval != 0 { interval -= 1 }
        return Int32(clamping: interval)
    }
}
