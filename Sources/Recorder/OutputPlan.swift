import Media
import Rooms
import RTP
import SessionManager
import Support

/// What an egress writes, decided when its first media arrives: each file's container, whether
/// it transcodes, and with which encoders (one video encoder for every output, one audio
/// encoder per audio codec the outputs take).
struct OutputPlan {
    enum Mode {
        case passthrough(expectsVideo: Bool, expectsAudio: Bool)
        /// `fileAudio`: each file's audio codec, in the order of `fileTypes`.
        case transcode(EncodingSettings, withVideo: Bool, fileAudio: [Encoder.AudioEncoding], streamAudio: Bool)
    }

    /// Each file output's container, in the request's order.
    var fileTypes: [FileType]
    var mode: Mode
    /// The name used when the request's path (or segment prefix) is empty or a directory.
    var defaultName: String

    static func make(spec: EgressSpec, video: HubTrack?, hasAudio: Bool) throws -> OutputPlan {
        let outputs = spec.outputs
        let defaultName: String = switch spec.source {
        case .track: "{room_name}-{track_id}-{time}"
        case .trackComposite: "{room_name}-{time}"
        case .participant, .media: "{room_name}-{publisher_identity}-{time}"
        }
        let passthrough: Bool = if case .track = spec.source { true } else { spec.encoding == .passthrough }
        if passthrough {
            guard outputs.files.count == 1, let file = outputs.files.first, outputs.segments.isEmpty, outputs.stream == nil,
                  outputs.images.isEmpty else {
                throw RecorderError("HLS segments, live streams, images and a second file are encoded: a passthrough egress writes one file", code: 400)
            }
            let fileType = try passthroughType(file.fileType, video: video?.codec, hasAudio: hasAudio)
            return OutputPlan(fileTypes: [fileType],
                              mode: .passthrough(expectsVideo: video != nil && fileType != .ogg, expectsAudio: hasAudio),
                              defaultName: defaultName)
        }
        guard case .transcode(let settings) = spec.encoding else { throw RecorderError("no encoding settings") }
        if settings.videoCodec == .vp8 { throw RecorderError("VP8 encoding is not supported yet; use H.264") }
        // A live stream (FLV, MPEG-TS) carries AAC: beside one, a file is MP4 unless it says otherwise.
        let fileTypes = outputs.files.map { file in
            file.container(recordsVideo: spec.recordsVideo, audioCodec: settings.audioCodec, besideStream: outputs.carriesLiveStream)
        }
        let fileAudio = try fileTypes.map { type throws -> Encoder.AudioEncoding in
            switch (type, settings.audioCodec) {
            case (.mp4, .opus?): .opus
            case (.mp4, _): .aac
            case (.ogg, _): .opus
            case (.mp3, _): .mp3
            case (.webm, _): throw RecorderError("WebM output needs VP8 encoding, which this server does not do yet; use MP4 or PASSTHROUGH")
            }
        }
        // Video is encoded when the egress records it and an output takes it (OGG and MP3 do not).
        let takesVideo = fileTypes.contains(.mp4) || !outputs.segments.isEmpty || outputs.carriesLiveStream || !outputs.images.isEmpty
        return OutputPlan(fileTypes: fileTypes,
                          mode: .transcode(settings, withVideo: spec.recordsVideo && takesVideo, fileAudio: fileAudio,
                                           streamAudio: outputs.carriesLiveStream),
                          defaultName: defaultName)
    }

    /// The size of the recording's pictures (what thumbnails default to).
    var pictureSize: (width: Int32, height: Int32) {
        if case .transcode(let settings, _, _, _) = mode { return (settings.width, settings.height) }
        return (0, 0)
    }

    /// The container a codec goes into without transcoding.
    private static func passthroughType(_ requested: FileType?, video: RTPCodec?, hasAudio: Bool) throws -> FileType {
        let natural: FileType = switch video {
        case .h264?: .mp4
        case .vp8?: .webm
        case .opus?, nil: .ogg
        }
        guard let requested else { return natural }
        let fits: Bool = switch requested {
        case .mp4: video != .vp8
        case .webm: video != .h264
        case .ogg: video == nil
        case .mp3: false
        }
        guard fits else {
            let what = video.map { $0.mimeType } ?? "audio/opus"
            throw RecorderError("cannot write \(what) into \(requested.rawValue) without transcoding")
        }
        return requested
    }

    /// The writer for the files at `files` (one per `fileTypes`), the HLS outputs `segments`, the
    /// live `streams`, the `webSockets` and the `thumbnails` (any may be absent, not all).
    func makeWriter(files: [ConfinedPath], segments: [SegmentedOutput], streams: [LiveStreamOutput], webSockets: [WebSocketPCMOutput],
                    thumbnails: [ThumbnailOutput], staleAfter: Int64) throws -> any MediaWriter {
        switch mode {
        case .passthrough(let expectsVideo, let expectsAudio):
            guard let file = files.first, let fileType = fileTypes.first else { throw RecorderError("a passthrough egress without a file") }
            return PassthroughWriter(target: file, format: fileType.rawValue, expectsVideo: expectsVideo, expectsAudio: expectsAudio)
        case .transcode(let settings, let withVideo, let fileAudio, let streamAudio):
            let fileOutputs = try zip(zip(files, fileTypes), fileAudio).map { file, audio in
                (output: try FilePacketOutput(target: file.0, type: file.1), audio: audio)
            }
            return try TranscodingWriter(files: fileOutputs, segments: segments, streams: streams, webSockets: webSockets,
                                         thumbnails: thumbnails, settings: settings,
                                         withVideo: withVideo, streamAudio: streamAudio, staleAfter: staleAfter)
        }
    }
}
