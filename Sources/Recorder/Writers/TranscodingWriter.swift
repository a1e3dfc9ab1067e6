import Media
import RTP
import SessionManager
import Support

/// Decodes, scales and re-encodes into a constant-rate file: video at the output frame rate
/// (black while there is no live picture, the last picture between frames), audio continuous
/// (silence where nothing arrived). The timeline never has holes, so audio and video stay
/// in step whatever the tracks do.
final class TranscodingWriter: MediaWriter {
    let target: ConfinedPath
    var path: String { target.path }
    private let muxer: Muxer
    private let video: VideoOutput?
    private let audioEncoder: Encoder
    private let audioStream: Int
    private let audioRate: Int32
    /// One per audio track: decoded, resampled and placed on its own timeline; mixed on output.
    private var audioInputs: [String: AudioInput] = [:]
    /// Sample frames encoded so far.
    private var audioWritten: Int64 = 0

    private struct AudioInput {
        var decoder: Decoder
        var resampler: AudioResampler
        var timeline: AudioTimeline
        var channel: EgressSpec.AudioRoute.Channel
    }

    /// The video half: decoder, scaler, encoder and the constant-rate clock.
    private final class VideoOutput {
        let encoder: Encoder
        let stream: Int
        let scaler: VideoScaler
        let black: Frame
        let framerate: Int64
        var decoder: (codec: RTPCodec, decoder: Decoder)?
        /// Decoded, scaled pictures not yet shown, by position.
        var pending: [(position: Int64, frame: Frame)] = []
        var current: (position: Int64, frame: Frame)?
        var nextSlot: Int64 = 0

        init(encoder: Encoder, stream: Int, scaler: VideoScaler, black: Frame, framerate: Int64) {
            (self.encoder, self.stream, self.scaler, self.black, self.framerate) = (encoder, stream, scaler, black, framerate)
        }

        func slotTime(_ slot: Int64) -> Int64 { slot.rescaled(by: 1_000_000_000, over: framerate) ?? .max }
    }

    private let staleAfter: Int64

    /// - Parameters:
    ///   - format: `mp4` or `ogg`; OGG has no video.
    ///   - audioCodec: `aac` or `libopus`.
    init(target: ConfinedPath, format: String, settings: EncodingSettings, withVideo: Bool, audioEncoderName: String,
         staleAfter: Int64) throws {
        self.target = target
        self.staleAfter = staleAfter
        muxer = try Muxer(file: try ConfinedFile.create(target), format: format)
        if withVideo {
            let encoder = try Encoder(
                .h264(width: settings.width, height: settings.height, framerate: settings.framerate, kbps: settings.videoBitrate,
                      keyFrameInterval: Self.keyFrameFrames(settings), profile: settings.videoProfile.rawValue),
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
        audioRate = rate
        try muxer.writeHeader()
    }

    /// Frames between key frames: the interval asked for (2 s when it is not a positive number),
    /// at least 1, at most Int32.max; never a trapping conversion of the request's number.
    static func keyFrameFrames(_ settings: EncodingSettings) -> Int32 {
        let seconds = settings.keyFrameInterval > 0 ? settings.keyFrameInterval : 2
        let frames = (seconds * Double(settings.framerate)).rounded()
        guard frames >= 1 else { return 1 }
        return frames < Double(Int32.max) ? Int32(frames) : Int32.max
    }

    var bytesWritten: Int64 { muxer.bytesWritten }
    var file: ConfinedFile? { muxer.file }

    var duration: Int64 {
        if let video { return video.slotTime(video.nextSlot) }
        return audioWritten.rescaled(by: 1_000_000_000, over: Int64(audioRate)) ?? .max
    }

    func video(_ frame: EncodedFrame, codec: RTPCodec, at position: Int64) throws {
        guard let video else { return }
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

    func audio(_ frame: EncodedFrame, track: String, channel: EgressSpec.AudioRoute.Channel, at position: Int64) throws {
        if audioInputs[track] == nil {
            audioInputs[track] = AudioInput(decoder: try Decoder(.opus), resampler: AudioResampler(sampleRate: audioRate),
                                            timeline: AudioTimeline(rate: audioRate, start: audioWritten), channel: channel)
        }
        for decoded in audioInputs[track]!.decoder.decode(frame.data, pts: position) {
            let samples = Self.route(try audioInputs[track]!.resampler.convert(decoded), to: channel)
            audioInputs[track]!.timeline.place(samples, at: decoded.pts)
        }
    }

    func removeAudio(track: String) {
        audioInputs[track] = nil
    }

    /// Stereo samples sent to one side (as mono) or left as they are.
    static func route(_ samples: [Float], to channel: EgressSpec.AudioRoute.Channel) -> [Float] {
        guard channel != .both else { return samples }
        var out = [Float](repeating: 0, count: samples.count)
        let side = channel == .left ? 0 : 1
        for i in stride(from: 0, to: samples.count - 1, by: 2) { out[i + side] = (samples[i] + samples[i + 1]) / 2 }
        return out
    }

    func advance(to position: Int64, visibility: VideoVisibility) throws {
        if let video {
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
        let target = position.rescaled(by: Int64(audioRate), over: 1_000_000_000) ?? audioWritten
        while audioWritten + Int64(frameSize) <= target {
            let frame = try audioEncoder.audioFrame(interleaved: mixNext(frameSize)[...], pts: audioWritten)
            for packet in try audioEncoder.encode(frame) { try muxer.write(packet, stream: audioStream) }
            audioWritten += Int64(frameSize)
        }
    }

    /// The next `frames` sample frames of every audio input, summed (silence without inputs).
    private func mixNext(_ frames: Int) -> [Float] {
        var keys = audioInputs.keys.makeIterator()
        guard let first = keys.next() else { return [Float](repeating: 0, count: frames * 2) }
        var mix = audioInputs[first]!.timeline.take(frames)
        while let key = keys.next() {
            let samples = audioInputs[key]!.timeline.take(frames)
            for i in mix.indices { mix[i] = min(1, max(-1, mix[i] + samples[i])) }
        }
        return mix
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        defer { try? muxer.finish() }
        try advance(to: position, visibility: visibility)
        if let video { for packet in try video.encoder.flush() { try muxer.write(packet, stream: video.stream) } }
        for packet in try audioEncoder.flush() { try muxer.write(packet, stream: audioStream) }
        try muxer.finish()
    }
}
