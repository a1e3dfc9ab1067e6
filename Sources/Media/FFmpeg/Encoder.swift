import CFFmpeg

/// A libavcodec encoder: frames in, packets out, in the encoder's time base.
public final class Encoder: @unchecked Sendable {
    /// The audio encoders used: each a codec and the FFmpeg encoder that makes it.
    public enum AudioEncoding: Sendable, Equatable {
        case aac, opus, mp3

        var ffmpegName: String {
            switch self {
            case .aac: "aac"
            case .opus: "libopus"
            case .mp3: "libmp3lame"
            }
        }
    }

    /// What to encode to.
    public enum Settings: Sendable {
        /// libx264, YUV 4:2:0.
        case h264(width: Int32, height: Int32, framerate: Int32, kbps: Int32, keyFrameInterval: Int32, profile: String)
        /// Stereo, planar or interleaved float as the encoder wants.
        case audio(AudioEncoding, sampleRate: Int32, kbps: Int32)
        /// Still JPEG pictures (full-range YUV 4:2:0) at a fixed quality scale (2 best … 31).
        case jpeg(width: Int32, height: Int32, quality: Int32)
    }

    let context: UnsafeMutablePointer<AVCodecContext>
    public let timeBase: (num: Int32, den: Int32)

    /// - Parameter globalHeader: the container wants codec headers out of band (MP4, WebM, OGG).
    public init(_ settings: Settings, globalHeader: Bool) throws(MediaError) {
        let name: String = switch settings {
        case .h264: "libx264"
        case .audio(let encoding, _, _): encoding.ffmpegName
        case .jpeg: "mjpeg"
        }
        guard let codec = avcodec_find_encoder_by_name(name), let context = avcodec_alloc_context3(codec) else {
            throw MediaError("no \(name) encoder in this FFmpeg")
        }
        self.context = context
        switch settings {
        case .h264(let width, let height, let framerate, let kbps, let keyFrameInterval, let profile):
            context.pointee.width = width
            context.pointee.height = height
            context.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            context.pointee.time_base = AVRational(num: 1, den: framerate)
            context.pointee.framerate = AVRational(num: framerate, den: 1)
            context.pointee.bit_rate = Int64(kbps) * 1000
            context.pointee.rc_max_rate = Int64(kbps) * 1500
            context.pointee.rc_buffer_size = Int32(clamping: Int64(kbps) * 2000)
            context.pointee.gop_size = keyFrameInterval
            // Real-time recording: no lookahead or B-frames, so what is on disk trails the
            // input by a frame, not by seconds.
            try setOptions(["preset": "veryfast", "tune": "zerolatency", "profile": profile], on: context.pointee.priv_data, what: "libx264")
        case .audio(_, let sampleRate, let kbps):
            context.pointee.sample_rate = sampleRate
            av_channel_layout_default(&context.pointee.ch_layout, 2)
            context.pointee.sample_fmt = Self.preferredSampleFormat(codec)
            context.pointee.bit_rate = Int64(kbps) * 1000
            context.pointee.time_base = AVRational(num: 1, den: sampleRate)
        case .jpeg(let width, let height, let quality):
            context.pointee.width = width
            context.pointee.height = height
            context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
            context.pointee.time_base = AVRational(num: 1, den: 1)
            context.pointee.flags |= AV_CODEC_FLAG_QSCALE
            context.pointee.global_quality = FF_QP2LAMBDA * quality
        }
        if globalHeader { context.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        timeBase = (context.pointee.time_base.num, context.pointee.time_base.den)
        try check(avcodec_open2(context, codec, nil), "opening the \(name) encoder")
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
    }

    /// Samples per audio frame the encoder takes (0: any).
    public var frameSize: Int { Int(context.pointee.frame_size) }
    public var sampleRate: Int32 { context.pointee.sample_rate }
    var isPlanar: Bool { av_sample_fmt_is_planar(context.pointee.sample_fmt) != 0 }

    /// Encodes a frame (pts in `timeBase`); returns the packets that came out.
    public func encode(_ frame: Frame) throws(MediaError) -> [Packet] {
        try check(avcodec_send_frame(context, frame.pointer), "encoding a frame")
        return try receiveAll()
    }

    /// Drains the encoder at the end.
    public func flush() throws(MediaError) -> [Packet] {
        let status = avcodec_send_frame(context, nil)
        guard status >= 0 || status == cffmpeg_averror_eof() else { throw MediaError("flushing the encoder", code: status) }
        return try receiveAll()
    }

    /// An audio frame of interleaved stereo float samples, in the layout this encoder takes.
    public func audioFrame(interleaved samples: ArraySlice<Float>, pts: Int64) throws(MediaError) -> Frame {
        let count = samples.count / 2
        let frame = Frame()
        frame.pointer.pointee.format = context.pointee.sample_fmt.rawValue
        frame.pointer.pointee.nb_samples = Int32(count)
        frame.pointer.pointee.sample_rate = context.pointee.sample_rate
        try check(av_channel_layout_copy(&frame.pointer.pointee.ch_layout, &context.pointee.ch_layout), "copying a channel layout")
        try check(av_frame_get_buffer(frame.pointer, 0), "allocating \(count) samples")
        let base = samples.startIndex
        if isPlanar {
            let left = UnsafeMutableRawPointer(frame.pointer.pointee.data.0!).assumingMemoryBound(to: Float.self)
            let right = UnsafeMutableRawPointer(frame.pointer.pointee.data.1!).assumingMemoryBound(to: Float.self)
            for i in 0..<count {
                left[i] = samples[base + 2 * i]
                right[i] = samples[base + 2 * i + 1]
            }
        } else {
            let out = UnsafeMutableRawPointer(frame.pointer.pointee.data.0!).assumingMemoryBound(to: Float.self)
            for i in 0..<(count * 2) { out[i] = samples[base + i] }
        }
        frame.pts = pts
        return frame
    }

    private func receiveAll() throws(MediaError) -> [Packet] {
        var packets: [Packet] = []
        while true {
            let packet = Packet(timeBase: timeBase)
            let status = avcodec_receive_packet(context, packet.pointer)
            if status == cffmpeg_averror_eagain() || status == cffmpeg_averror_eof() { break }
            try check(status, "receiving an encoded packet")
            packets.append(packet)
        }
        return packets
    }

    /// Float planar if the encoder takes it (aac), else interleaved float (libopus).
    private static func preferredSampleFormat(_ codec: UnsafePointer<AVCodec>) -> AVSampleFormat {
        var formats: [AVSampleFormat] = []
        if var cursor = codec.pointee.sample_fmts {
            while cursor.pointee != AV_SAMPLE_FMT_NONE {
                formats.append(cursor.pointee)
                cursor += 1
            }
        }
        if formats.contains(AV_SAMPLE_FMT_FLTP) { return AV_SAMPLE_FMT_FLTP }
        return AV_SAMPLE_FMT_FLT
    }
}
