import Media
import RTP
import SessionManager
import Support

/// Decodes, scales and re-encodes into constant-rate outputs: video at the output frame rate
/// (black while there is no live picture, the last picture between frames), audio continuous
/// (silence where nothing arrived). The timeline never has holes, so audio and video stay
/// in step whatever the tracks do. It decodes once and encodes once per codec, whatever the
/// number of outputs: one video encoder, and one audio encoder per audio codec the outputs
/// take (an MP4 and an OGG file: AAC and Opus from the same mix). Every output (files, HLS
/// segments, live streams) gets each packet of its codecs, and one that fails is dropped while
/// the others go on; the writer fails only when every output has.
final class TranscodingWriter: MediaWriter {
    /// The file outputs, in the request's order.
    let fileOutputs: [FilePacketOutput]
    let segmentOutputs: [SegmentedOutput]
    /// Every live stream it has had (removed and failed ones too: their results stay listed).
    private(set) var streams: [LiveStreamOutput] = []
    /// Every WebSocket it has had (`stream_outputs` over WEBSOCKET), and the ones still sent
    /// the mix, as PCM, with the sample frames each has been sent.
    private(set) var webSockets: [WebSocketPCMOutput] = []
    private var pcmRoutes: [(output: WebSocketPCMOutput, written: Int64)] = []
    /// Every thumbnail output, and the ones still captured (a failed one is dropped).
    let thumbnails: [ThumbnailOutput]
    private var capturing: [ThumbnailOutput]
    /// The outputs still written to, and the ones that failed, with why.
    private var routes: [Route]
    private(set) var failedOutputs: [(label: String, error: String)] = []
    private let video: VideoOutput?
    /// One encoder per audio codec, each fed the same mix.
    private var audioBranches: [AudioBranch]
    private let audioRate: Int32
    /// The audio tracks, mixed.
    private var mix: AudioMix
    /// Mixed interleaved stereo samples not yet encoded by every branch, from sample frame `mixedStart`.
    private var mixed: [Float] = []
    private var mixedStart: Int64 = 0
    private var mixedEnd: Int64 { mixedStart + Int64(mixed.count / 2) }

    /// An output and what it takes: video or not, and which audio encoder's packets.
    private struct Route {
        let output: any PacketOutput
        let takesVideo: Bool
        let audio: Int
    }

    private struct AudioBranch {
        let encoding: Encoder.AudioEncoding
        let encoder: Encoder
        /// Sample frames encoded so far.
        var written: Int64 = 0
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
    ///   - files: the file outputs (MP4; OGG and MP3 take no video), each with its audio codec.
    ///   - segments: the HLS outputs; their segment durations set the key-frame interval.
    ///   - streams: the live streams (RTMP, SRT), if any.
    ///   - thumbnails: the image outputs, if any (they take the pictures, not the packets).
    ///   - webSockets: WebSockets that take the mix as PCM (connected, or failed to).
    ///   - streamAudio: whether HLS and live streams need AAC (there are some, or UpdateStream may add them).
    init(files: [(output: FilePacketOutput, audio: Encoder.AudioEncoding)], segments: [SegmentedOutput], streams: [LiveStreamOutput],
         webSockets: [WebSocketPCMOutput] = [], thumbnails: [ThumbnailOutput], settings: EncodingSettings, withVideo: Bool,
         streamAudio: Bool, staleAfter: Int64) throws {
        fileOutputs = files.map(\.output)
        segmentOutputs = segments
        self.streams = streams
        self.thumbnails = thumbnails
        capturing = withVideo ? thumbnails : []
        self.staleAfter = staleAfter
        self.webSockets = webSockets
        for socket in webSockets {
            if let failure = socket.failure { failedOutputs.append((socket.label, failure)) } else { pcmRoutes.append((socket, 0)) }
        }
        // The audio codecs, in a fixed order: the files', then AAC for HLS and streams.
        var encodings: [Encoder.AudioEncoding] = []
        for encoding in files.map(\.audio) + (streamAudio || !segments.isEmpty ? [.aac] : []) where !encodings.contains(encoding) {
            encodings.append(encoding)
        }
        guard !encodings.isEmpty || !capturing.isEmpty || !pcmRoutes.isEmpty else {
            if !failedOutputs.isEmpty { throw AllOutputsFailed(failures: failedOutputs) }
            throw RecorderError("an egress without outputs")
        }
        // Codec headers out of band if a container wants them (MP4, fMP4 segments); MPEG-TS and FLV take them
        // either way (their muxers put them where they belong themselves).
        let globalHeader = files.contains { $0.output.wantsGlobalHeader } || segments.contains { $0.wantsGlobalHeader }
        if withVideo {
            // Every HLS output cuts on key frames: their interval divides each one's segments.
            let keyFrames = Self.keyFrameFrames(settings, segmentSeconds: Self.commonDivisor(of: segments.map(\.segmentDuration)))
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
        // One mix for every encoder, so one rate: 48 kHz when Opus is among them (it takes no
        // other) or a WebSocket takes the mix (LiveKit's PCM is 48 kHz).
        let rate = encodings.contains(.opus) || !webSockets.isEmpty ? WebSocketPCMOutput.sampleRate : settings.audioFrequency
        audioRate = rate
        mix = AudioMix(rate: rate)
        audioBranches = try encodings.map { encoding in
            AudioBranch(encoding: encoding, encoder: try Encoder(.audio(encoding, sampleRate: rate, kbps: settings.audioBitrate),
                                                                 globalHeader: globalHeader))
        }
        let aac = encodings.firstIndex(of: .aac) ?? 0
        var routes = files.map { file in
            Route(output: file.output, takesVideo: file.output.takesVideo, audio: encodings.firstIndex(of: file.audio) ?? 0)
        }
        routes += (segments as [any PacketOutput] + streams).map { Route(output: $0, takesVideo: true, audio: aac) }
        for route in routes {
            try route.output.start(video: route.takesVideo ? video?.encoder : nil, audio: audioBranches[route.audio].encoder)
        }
        self.routes = routes
    }

    /// Starts one more stream output (UpdateStream): a WebSocket, or an RTMP or SRT stream.
    func add(_ stream: StreamResult, overWebSocket: Bool, policy: StreamRetryPolicy) throws {
        if overWebSocket {
            addWebSocket(WebSocketPCMOutput(id: stream.id, url: stream.url))
        } else {
            try addStream(LiveStreamOutput(id: stream.id, url: stream.url, policy: policy))
        }
    }

    /// Starts streaming to one more URL (UpdateStream), from the next key frame.
    func addStream(_ stream: LiveStreamOutput) throws {
        guard let aac = audioBranches.firstIndex(where: { $0.encoding == .aac }) else {
            throw RecorderError("this egress encodes no AAC audio for a live stream", code: 400)
        }
        try stream.start(video: video?.encoder, audio: audioBranches[aac].encoder)
        streams.append(stream)
        routes.append(Route(output: stream, takesVideo: true, audio: aac))
    }

    /// Starts sending the mix to one more WebSocket (UpdateStream), from now.
    func addWebSocket(_ socket: WebSocketPCMOutput) {
        webSockets.append(socket)
        if let failure = socket.failure { failedOutputs.append((socket.label, failure)) } else { pcmRoutes.append((socket, mixedEnd)) }
    }

    /// Stops streaming to `url` (UpdateStream); the others go on. False if it is not streamed to.
    func removeStream(url: String) -> Bool {
        if let index = pcmRoutes.firstIndex(where: { $0.output.url == url }) {
            pcmRoutes.remove(at: index).output.close()
            return true
        }
        guard let index = routes.firstIndex(where: { ($0.output as? LiveStreamOutput)?.url == url }),
              let stream = routes.remove(at: index).output as? LiveStreamOutput else { return false }
        stream.close()
        return true
    }

    /// Forgets the results of the oldest ended streams past `keeping`.
    func trimStreams(keeping limit: Int) {
        while streams.count > limit, let oldest = streams.firstIndex(where: { !$0.isActive }) { streams.remove(at: oldest) }
        while webSockets.count > limit, let oldest = webSockets.firstIndex(where: { !$0.isOpen }) { webSockets.remove(at: oldest) }
    }

    /// Whether it still writes anywhere (removing every stream of a stream-only egress leaves nothing).
    var hasOutputs: Bool { !routes.isEmpty || !capturing.isEmpty || !pcmRoutes.isEmpty }

    var files: [(target: ConfinedPath, file: ConfinedFile?)] { fileOutputs.map { ($0.file.target, $0.file) } }
    var bytesWritten: Int64 {
        fileOutputs.reduce(0) { $0 + $1.muxer.bytesWritten } + segmentOutputs.reduce(0) { $0 + $1.bytesWritten }
    }
    var file: ConfinedFile? { fileOutputs.first?.file ?? segmentOutputs.lazy.compactMap(\.playlistFile).first }

    var duration: Int64 {
        if let video { return video.slotTime(video.nextSlot) }
        let written = audioBranches.map(\.written).min() ?? mixedEnd
        return written.rescaled(by: 1_000_000_000, over: Int64(audioRate)) ?? .max
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
        try mix.add(frame, track: track, channel: channel, at: position, start: mixedEnd)
    }

    func removeAudio(track: String) {
        mix.remove(track: track)
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
        // Mixed in slices of at most 0.1 s, each encoded by every branch in whole frames of its own size.
        let target = position.rescaled(by: Int64(audioRate), over: 1_000_000_000) ?? mixedEnd
        while mixedEnd < target {
            mixed += mix.next(Int(min(target - mixedEnd, Int64(audioRate / 10))))
            try encodeMixed()
        }
    }

    /// Encodes, on every branch, the whole frames the mix has for it; forgets what all have encoded.
    private func encodeMixed() throws {
        for index in audioBranches.indices {
            let encoder = audioBranches[index].encoder
            let frameSize = Int64(encoder.frameSize > 0 ? encoder.frameSize : 1024)
            while audioBranches[index].written + frameSize <= mixedEnd {
                let from = Int(audioBranches[index].written - mixedStart) * 2
                let frame = try encoder.audioFrame(interleaved: mixed[from ..< from + Int(frameSize) * 2], pts: audioBranches[index].written)
                try emit(try encoder.encode(frame), .audio(index))
                audioBranches[index].written += frameSize
            }
        }
        for index in pcmRoutes.indices.reversed() {
            let frames = Int64(WebSocketPCMOutput.messageFrames)
            while index < pcmRoutes.count, pcmRoutes[index].written + frames <= mixedEnd {
                let from = Int(pcmRoutes[index].written - mixedStart) * 2
                // A route added by UpdateStream starts at the mix's end: never before what is kept.
                guard from >= 0 else { pcmRoutes[index].written = mixedStart; continue }
                do {
                    try pcmRoutes[index].output.send(pcm: mixed[from ..< from + Int(frames) * 2])
                    pcmRoutes[index].written += frames
                } catch let closed as OutputClosed {
                    // The server ended it: not a failure; the egress ends if it was the last output.
                    pcmRoutes.remove(at: index)
                    if !hasOutputs { throw closed }
                } catch {
                    let socket = pcmRoutes.remove(at: index).output
                    socket.close(failure: "\(error)")
                    try lose(socket.label, .websocket, "\(error)")
                }
            }
        }
        let done = (audioBranches.map(\.written) + pcmRoutes.map(\.written)).min() ?? mixedEnd
        if done > mixedStart {
            mixed.removeFirst(Int(done - mixedStart) * 2)
            mixedStart = done
        }
    }

    /// The recorded microphone was muted or unmuted: the WebSockets are told.
    func muteChanged(_ muted: Bool) throws {
        for route in pcmRoutes { try route.output.muteChanged(muted) }
    }

    /// What a packet is: video, or audio of one branch.
    private enum Source: Equatable {
        case video
        case audio(Int)
    }

    /// Hands each packet to every output still written to that takes it (the first of them gets
    /// the packet itself, the others a reference to its data). An output that fails is dropped
    /// and remembered. (With no output left after UpdateStream removed the last stream, there is
    /// nothing to do.)
    private func emit(_ packets: [Packet], _ source: Source) throws {
        let kind: StreamKind = source == .video ? .video : .audio
        for packet in packets {
            let takers = routes.indices.filter { index in
                switch source {
                case .video: routes[index].takesVideo
                case .audio(let branch): routes[index].audio == branch
                }
            }
            // From the last, so that dropping one leaves the indices before it as they are.
            for (order, index) in takers.enumerated().reversed() {
                let output = routes[index].output
                do {
                    let size = packet.size
                    try output.write(order == 0 ? packet : try packet.reference(), kind)
                    OutputMetrics.wrote(size, to: output.metricKind)
                } catch {
                    try drop(at: index, failure: error)
                    try? output.finish()
                }
            }
        }
    }

    /// Drops the output at `index`, which failed; throws when it was the last one.
    private func drop(at index: Int, failure: any Error) throws {
        let output = routes.remove(at: index).output
        try lose(output.label, output.metricKind, "\(failure)")
    }

    /// Notes an output that failed (and was dropped); throws when none is left.
    private func lose(_ label: String, _ kind: OutputMetrics.Kind, _ reason: String) throws {
        failedOutputs.append((label, reason))
        OutputMetrics.failed(kind)
        if !hasOutputs { throw AllOutputsFailed(failures: failedOutputs) }
    }

    /// Gives the picture shown at `time` to the thumbnail outputs; one that fails is dropped.
    private func capture(_ picture: Frame, at time: Int64) throws {
        for (index, thumbnail) in capturing.enumerated().reversed() {
            do {
                try thumbnail.offer(picture, at: time)
            } catch {
                capturing.remove(at: index)
                try lose(thumbnail.label, .images, "\(error)")
            }
        }
    }

    func finish(at position: Int64, visibility: VideoVisibility) throws {
        // Whatever happens, what was written is closed playable (finishing twice is harmless).
        defer { for route in routes { try? route.output.finish() } }
        try advance(to: position, visibility: visibility)
        if let video { try emit(try video.encoder.flush(), .video) }
        for index in audioBranches.indices { try emit(try audioBranches[index].encoder.flush(), .audio(index)) }
        for (index, route) in routes.enumerated().reversed() {
            do {
                try route.output.finish()
            } catch {
                try drop(at: index, failure: error)
            }
        }
        for route in pcmRoutes { route.output.close() }
        for thumbnail in thumbnails { thumbnail.finishUploads() }
    }
}

/// Every output of an egress failed: what each said.
struct AllOutputsFailed: Error, CustomStringConvertible {
    let failures: [(label: String, error: String)]
    var description: String { failures.map { "\($0.label): \($0.error)" }.joined(separator: "; ") }
}
