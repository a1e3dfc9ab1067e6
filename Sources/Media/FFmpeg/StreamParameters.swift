import CFFmpeg

/// An encoder's stream description (codec, size, rate, codec headers), copied once: a muxer
/// made later on another thread (a live stream reconnecting) describes its stream from the
/// copy, never from the encoder that is encoding meanwhile.
public final class StreamParameters: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVCodecParameters>
    let timeBase: AVRational

    public init(of encoder: Encoder) throws(MediaError) {
        guard let pointer = avcodec_parameters_alloc() else { throw MediaError("allocating stream parameters") }
        self.pointer = pointer
        timeBase = AVRational(num: encoder.timeBase.num, den: encoder.timeBase.den)
        try check(avcodec_parameters_from_context(pointer, encoder.context), "describing a stream")
    }

    deinit {
        var pointer: UnsafeMutablePointer<AVCodecParameters>? = pointer
        avcodec_parameters_free(&pointer)
    }
}
