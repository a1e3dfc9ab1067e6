import CFFmpeg

/// Converts decoded audio frames to interleaved stereo float at the output rate.
public final class AudioResampler: @unchecked Sendable {
    public let sampleRate: Int32
    private var context: OpaquePointer?
    private var input: (rate: Int32, channels: Int32, format: Int32) = (0, 0, -1)

    public init(sampleRate: Int32) {
        self.sampleRate = sampleRate
    }

    deinit { swr_free(&context) }

    /// Interleaved L/R samples for `frame` (mono is duplicated to both sides).
    public func convert(_ frame: Frame) throws(MediaError) -> [Float] {
        let source = frame.pointer
        let key = (source.pointee.sample_rate, source.pointee.ch_layout.nb_channels, source.pointee.format)
        if context == nil || input != key {
            swr_free(&context)
            var outLayout = AVChannelLayout()
            av_channel_layout_default(&outLayout, 2)
            try check(swr_alloc_set_opts2(&context, &outLayout, AV_SAMPLE_FMT_FLT, sampleRate,
                                          &source.pointee.ch_layout, AVSampleFormat(source.pointee.format),
                                          source.pointee.sample_rate, 0, nil), "configuring the resampler")
            try check(swr_init(context), "starting the resampler")
            input = key
        }
        let capacity = Int(swr_get_out_samples(context, source.pointee.nb_samples)) + 32
        var output = [Float](repeating: 0, count: capacity * 2)
        let inputPlanes = UnsafeMutableRawPointer(source.pointee.extended_data).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
        let produced = output.withUnsafeMutableBytes { buffer -> Int32 in
            var planes: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)]
            return swr_convert(context, &planes, Int32(capacity), inputPlanes, source.pointee.nb_samples)
        }
        try check(produced, "resampling audio")
        output.removeLast(output.count - Int(produced) * 2)
        return output
    }
}
