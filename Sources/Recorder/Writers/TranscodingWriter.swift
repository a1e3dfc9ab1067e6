import Media
import RTP
import SessionManager
import Support

/// Decodes, scales and re-encodes into constant-rate outputs: video at the output frame rate
/// (black while there is no live picture, the last picture between frames), audio continuous
/// (silence where nothing arrived). The timeline never has holes, so audio and video stay
/// in step whatever the tracks do. It encodes once, whatever the number of outputs: every
/// output (a file, HLS segments) gets each packet, and one that fails is dropped while the
/// others go on; the writer fails only when every output has.
final class TranscodingWriter: MediaWriter {
    /// The file output, if the egress has one.
    let fileOutput: FilePacketOutput?
    let segments: SegmentedOutput?
    /// Every live stream it has had (removed and failed ones too: their results stay listed).
    private(set) var streams: [LiveStreamOutput] = []
    /// Every thumbnail output, and the ones still captured (a failed one is dropped).
    let thumbnails: [ThumbnailOutput]
    private var capturing: [ThumbnailOutput]
    /// The outputs still written to, and the ones that failed, with why.
    private var outputs: [any PacketOutput]
    private(set) var failedOutputs: [(label: String, error: String)] = []
    private let video: VideoOutput?
    private let audioEncoder: Encoder
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
        let scaler: VideoScaler
        let black: Frame
        let framerate: Int64
        var decoder: (codec: RTPCodec, decoder: Decoder)?
        /// Decoded, scaled pictures not yet shown, by position.
        var pending: [(position: Int64, frame: Frame)] = []
        var current: (position: Int64, frame: Frame)?
        var nextSlot: Int64 = 0

        init(encoder: Encoder, scaler: VideoScaler, black: Frame, framerate: Int64) {
            (self.encoder, self.scaler, self.black, self.framerate) = (encoder, scaler, black, framerate)
        }

        func slotTime(_ slot: Int64) -> Int64 { slot.rescaled(by: 1_000_000_000, over: framerate) ?? .max }
    }

    private let staleAfter: Int64

    /// - Parameters:
    ///   - file: the file output (MP4, OGG: no video; MP3), if any.
    ///   - segments: the HLS output, if any; its segment duration sets the key-frame interval.
    ///   - streams: the live streams (RTMP, SRT), if any.
    ///   - thumbnails: the image outputs, if any (they take the pictures, not the packets).
    ///   - audioEncoding: the audio codec every output takes.
    init(file: FilePacketOutput?, segments: SegmentedOutput?, streams: [LiveStreamOutput], thumbnails: [ThumbnailOutput],
         settings: EncodingSettings, withVideo: Bool, audioEncoding: Encoder.AudioEncoding, staleAfter: Int64) throws {
        fileOutput = file
        self.segments = segments
        self.streams = streams
        self.thumbnails = thumbnails
        capturing = withVideo ? thumbnails : []
        self.staleAfter = staleAfter
        let outputs: [any PacketOutput] = [file as (any PacketOutput)?, segments].compactMap { $0 } + streams
        guard !outputs.isEmpty || !capturing.isEmpty else { throw RecorderError("an egress without outputs") }
        // Codec headers out of band if a container wants them (MP4); MPEG-TS takes them either
        // way (its muxer puts them before each key frame itself).
        let globalHeader = file?.wantsGlobalHeader ?? false
        if withVideo {
            let keyFrames = Self.keyFrameFrames(settings, segmentSeconds: segments?.segmentDuration)
            let encoder = try Encoder(
                .h264(width: settings.width, height: settings.height, framerate: settings.framerate, kbps: settings.videoBitrate,
                      keyFrameInterval: keyFrames, profile: settings.videoProfile.rawValue),
                globalHeader: globalHeader)
            video = VideoOutput(encoder: encoder, scaler: VideoScaler(width: settings.width, height: settings.height),
                                black: try Frame.black(width: settings.width, height: settings.height),
                                framerate: Int64(settings.framerate))
        } else {
            video = nil
        }
        let rate = audioEncoding.sampleRate(asked: settings.audioFrequency)
        audioEncoder = try Encoder(.audio(audioEncoding, sampleRate: rate, kbps: settings.audioBitrate), globalHeader: globalHeader)
        audioRate = rate
        for output in outputs { try output.start(video: video?.encoder, audio: audioEncoder) }
        self.outputs = outputs
    }

    /// Starts streaming to one more URL (UpdateStream), from the next key frame.
    func addStream(_ stream: LiveStreamOutput) throws {
        try stream.start(video: video?.encoder, audio: audioEncoder)
        streams.append(stream)
        outputs.append(stream)
    }

    /// Stops streaming to `url` (UpdateStream); the others go on. False if it is not streamed to.
    func removeStream(url: String) -> Bool {
        guard let index = outputs.firstIndex(where: { ($0 as? LiveStreamOutput)?.url == url }),
              let stream = outputs.remove(at: index) as? LiveStreamOutput else { return false }
        stream.close()
        return true
    }

    /// Forgets the results of the oldest ended streams past `keeping`.
    func trimStreams(keeping limit: Int) {
        while streams.count > limit, let oldest = streams.firstIndex(where: { !$0.isActive }) { streams.remove(at: oldest) }
    }

    /// Whether it still writes anywhere (removing every stream of a stream-only egress leaves nothing).
    var hasOutputs: Bool { !outputs.isEmpty || !capturing.isEmpty }

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

    var target: ConfinedPath? { fileOutput?.file.target }
    var bytesWritten: Int64 { (fileOutput?.muxer.bytesWritten ?? 0) + (segments?.bytesWritten ?? 0) }
    var file: ConfinedFile? { fileOutput?.file ?? segments?.playlistFile }

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
                try capture(picture, at: time)
                try emit(try video.encoder.encode(picture), .video)
                video.nextSlot += 1
            }
        }
        let frameSize = audioEncoder.frameSize > 0 ? audioEncoder.frameSize : 1024
        let target = position.rescaled(by: Int64(audioRate), over: 1_000_000_000) ?? audioWritten
        while audioWritten + Int64(frameSize) <= target {
            let frame = try audioEncoder.audioFrame(interleaved: mixNext(frameSize)[...], pts: audioWritten)
            try emit(try audioEncoder.encode(frame), .audio)
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

    /// Hands each packet to every output still written to (the last one gets the packet itself,
    /// the others a reference to its data). An output that fails is dropped and remembered.
    /// (With no output left after UpdateStream removed the last stream, there is nothing to do.)
    private func emit(_ packets: [Packet], _ kind: StreamKind) throws {
        for packet in packets {
            for (index, output) in outputs.enumerated().reversed() {
                do {
                    try output.write(index == 0 ? packet : try packet.reference(), kind)
                } catch {
                    try drop(at: index, failure: error)
                    try? output.finish()
                }
            }
        }
    }

    /// Drops the output at `index`, which failed; throws when it was the last one.
    private func drop(at index: Int, failure: any Error) throws {
        let output = outputs.remove(at: index)
        failedOutputs.append((output.label, "\(failure)"))
        if !hasOutputs { throw AllOutputsFailed(failures: failedOutputs) }
    }

    /// Gives the picture shown at `time` to the thumbnail outputs; one that fails is dropped.
    private func capture(_ picture: Frame, at time: Int64) throws {
        for (index, thumbnail) in capturing.enumerated().reversed() {
            do {
                try thumbnail.offer(picture, at: time)
            } catch {
                capturing.remove(at: index)
                failedOutputs.append((thumbnail.label, "\(error)"))
                if !hasOutputs { throw AllOutputsFailed(failures: failedOutputs) }
            }
        }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        // Whatever happens, what was written is closed playable (finishing twice is harmless).
        defer { for output in outputs { try? output.finish() } }
        try advance(to: position, visibility: visibility)
        if let video { try emit(try video.encoder.flush(), .video) }
        try emit(try audioEncoder.flush(), .audio)
        for (index, output) in outputs.enumerated().reversed() {
            do {
                try output.finish()
            } catch {
                try drop(at: index, failure: error)
            }
        }
    }
}

/// Every output of an egress failed: what each said.
struct AllOutputsFailed: Error, CustomStringConvertible {
    let failures: [(label: String, error: String)]
    var description: String { failures.map { "\($0.label): \($0.error)" }.joined(separator: "; ") }
}
