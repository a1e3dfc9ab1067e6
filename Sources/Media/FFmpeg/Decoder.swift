import CFFmpeg

/// A libavcodec decoder (H.264, VP8 or Opus): compressed packets in, frames out.
public final class Decoder: @unchecked Sendable {
    public enum Codec: Sendable {
        case h264, vp8, opus
    }

    let context: UnsafeMutablePointer<AVCodecContext>

    public init(_ codec: Codec) throws(MediaError) {
        let id: AVCodecID = switch codec {
        case .h264: AV_CODEC_ID_H264
        case .vp8: AV_CODEC_ID_VP8
        case .opus: AV_CODEC_ID_OPUS
        }
        guard let decoder = avcodec_find_decoder(id), let context = avcodec_alloc_context3(decoder) else {
            throw MediaError("no decoder for \(codec)")
        }
        self.context = context
        if codec == .opus {
            context.pointee.sample_rate = 48_000
            av_channel_layout_default(&context.pointee.ch_layout, 2)
        }
        context.pointee.thread_count = 1
        try check(avcodec_open2(context, decoder, nil), "opening the \(codec) decoder")
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
    }

    /// Decodes one packet; returns the frames it completed (their `pts` is the packet's).
    /// A corrupt packet is skipped (returns no frames) rather than ending the recording.
    public func decode(_ data: [UInt8], pts: Int64) -> [Frame] {
        guard let packet = try? Packet(data: data, pts: pts, isKeyframe: false, timeBase: (1, 1)) else { return [] }
        guard avcodec_send_packet(context, packet.pointer) >= 0 else { return [] }
        return receiveAll()
    }

    /// Frames still held by the decoder.
    public func flush() -> [Frame] {
        guard avcodec_send_packet(context, nil) >= 0 else { return [] }
        return receiveAll()
    }

    private func receiveAll() -> [Frame] {
        var frames: [Frame] = []
        while true {
            let frame = Frame()
            guard avcodec_receive_frame(context, frame.pointer) >= 0 else { break }
            frame.pts = frame.pointer.pointee.best_effort_timestamp
            frames.append(frame)
        }
        return frames
    }
}
