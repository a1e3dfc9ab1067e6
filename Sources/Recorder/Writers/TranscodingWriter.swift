import Media
import RTP
import SessionManager

/// Decodes, scales and re-encodes into a constant-rate file: video at the output frame rate
/// (black while there is no live picture, the last picture between frames), audio continuous
/// (silence where nothing arrived). The timeline never has holes, so audio and video stay
/// in step whatever the tracks do.
final class TranscodingWriter: MediaWriter {
    let path: String
    private let muxer: Muxer
    private var video: VideoOutput?
    private let audioEncoder: Encoder
    private let audioStream: Int
    private var audioDecoder: Decoder?
    private let resampler: AudioResampler
    private var timeline: AudioTimeline

    /// The video half: decoder, scaler, encoder and the constant-rate clock.
    private struct VideoOutput {
        var encoder: Encoder
        var stream: Int
        var scaler: VideoScaler
        var black: Frame
        var framerate: Int64
        var decoder: (codec: RTPCodec, decoder: Decoder)?
        /// Decoded, scaled pictures not yet shown, by position.
        var pending: [(position: Int64, frame: Frame)] = []
        var current: (position: Int64, frame: Frame)?
        var nextSlot: Int64 = 0

        func slotTime(_ slot: Int64) -> Int64 { slot * 1_000_000_000 / framerate }
    }

    private let staleAfter: Int64

    /// - Parameters:
    ///   - format: `mp4` or `ogg`; OGG has no video.
    ///   - audioCodec: `aac` or `libopus`.
    init(path: String, format: String, settings: EncodingSettings, withVideo: Bool, audioEncoderName: String,
         staleAfter: Int64) throws {
        self.path = path
        self.staleAfter = staleAfter
        muxer = try Muxer(path: path, format: format)
        if withVideo {
            let encoder = try Encoder(
                .h264(width: settings.width, height: settings.height, framerate: settings.framerate, kbps: settings.videoBitrate,
                      keyFrameInterval: Int32(settings.keyFrameInterval > 0 ? settings.keyFrameInterval * Double(settings.framerate)
                                                                              : 2 * Double(settings.framerate)),
                      profile: settings.videoProfile.rawValue),
                globalHeader: muxer.wantsGlobalHeader)
            video = VideoOutput(encoder: encoder, stream: try muxer.addStream(from: encoder),
                                scaler: VideoScaler(width: settings.width, height: settings.height),
                                black: try Frame.black(width: settings.width, height: settings.height),
                                framerate: Int64(settings.framerate))
        } else {
            video = nil
        }
        let rate = audioEncoderName == "libopus" ? 48_000 : settings.audioFrequency
        audioEncoder = try Encoder(.audio(encoder: audioEncoderName, sampleRate: rate, kbps: settings.audioBitrate),
                                   globalHeader: muxer.wantsGlobalHeader)
        audioStream = try muxer.addStream(from: audioEncoder)
        resampler = AudioResampler(sampleRate: rate)
        timeline = AudioTimeline(rate: rate)
        try muxer.writeHeader()
    }

    var bytesWritten: Int64 { muxer.bytesWritten }

    var duration: Int64 {
        if let video { return video.slotTime(video.nextSlot) }
        return timeline.start * 1_000_000_000 / timeline.rate
    }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        guard var video else { return }
        defer { self.video = video }
        if video.decoder?.codec != codec || frame.isKeyframe && frame.followsLoss {
            // Decoding starts at a key frame: what comes before it references pictures never seen.
            guard frame.isKeyframe else { return }
            video.decoder = (codec, try Decoder(codec.decoderCodec))
        }
        for picture in video.decoder!.decoder.decode(frame.data, pts: position) {
            let scaled = try video.scaler.scale(picture)
            let at = video.pending.firstIndex { $0.position > scaled.pts } ?? video.pending.endIndex
            video.pending.insert((scaled.pts, scaled), at: at)
        }
    }

    /// A new video track (republished, or another participant's): start decoding afresh.
    func resetVideoDecoder() {
        video?.decoder = nil
    }

    func audio(_ frame: EncodedFrame, at position: Int64) throws {
        if audioDecoder == nil { audioDecoder = try Decoder(.opus) }
        for decoded in audioDecoder!.decode(frame.data, pts: position) {
            timeline.place(try resampler.convert(decoded), at: decoded.pts)
        }
    }

    func advance(to position: Int64, visibility: VideoVisibility) throws {
        if var video {
            defer { self.video = video }
            while video.slotTime(video.nextSlot) <= position {
                let time = video.slotTime(video.nextSlot)
                while let first = video.pending.first, first.position <= time {
                    video.current = first
                    video.pending.removeFirst()
                }
                var picture: Frame = video.black
                if visibility.isShown(at: time), let current = video.current, time - current.position <= staleAfter {
                    picture = current.frame
                }
                picture.pts = video.nextSlot
                for packet in try video.encoder.encode(picture) { try muxer.write(packet, stream: video.stream) }
                video.nextSlot += 1
            }
        }
        let frameSize = audioEncoder.frameSize > 0 ? audioEncoder.frameSize : 1024
        let target = position * timeline.rate / 1_000_000_000
        while timeline.start + Int64(frameSize) <= target {
            let pts = timeline.start
            let samples = timeline.take(frameSize)
            let frame = try audioEncoder.audioFrame(interleaved: samples[...], pts: pts)
            for packet in try audioEncoder.encode(frame) { try muxer.write(packet, stream: audioStream) }
        }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        defer { try? muxer.finish() }
        try advance(to: position, visibility: visibility)
        if let video { for packet in try video.encoder.flush() { try muxer.write(packet, stream: video.stream) } }
        for packet in try audioEncoder.flush() { try muxer.write(packet, stream: audioStream) }
        try muxer.finish()
    }
}
