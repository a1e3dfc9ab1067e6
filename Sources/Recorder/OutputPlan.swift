import Media
import Rooms
import RTP
import SessionManager
import Support

/// What an egress writes, decided when its first media arrives: the file's container, whether
/// it transcodes, and with which encoders (one set for every output).
struct OutputPlan {
    enum Mode {
        case passthrough(expectsVideo: Bool, expectsAudio: Bool)
        case transcode(EncodingSettings, withVideo: Bool, audioEncoding: Encoder.AudioEncoding)
    }

    /// The file's container; nil when the egress has no file output.
    var fileType: FileType?
    var mode: Mode
    /// The name used when the request's path (or segment prefix) is empty or a directory.
    var defaultName: String

    static func make(spec: EgressSpec, video: HubTrack?, hasAudio: Bool) throws -> OutputPlan {
        let (file, segments, streams) = (spec.outputs.file, spec.outputs.segments, spec.outputs.stream)
        let defaultName: String = switch spec.source {
        case .track: "{room_name}-{track_id}-{time}"
        case .trackComposite: "{room_name}-{time}"
        case .participant, .media: "{room_name}-{publisher_identity}-{time}"
        }
        let passthrough: Bool = if case .track = spec.source { true } else { spec.encoding == .passthrough }
        if passthrough {
            guard let file, segments == nil, streams == nil, spec.outputs.images.isEmpty else {
                throw RecorderError("HLS segments, live streams and images are encoded: a passthrough egress writes a file only", code: 400)
            }
            let fileType = try passthroughType(file.fileType, video: video?.codec, hasAudio: hasAudio)
            return OutputPlan(fileType: fileType,
                              mode: .passthrough(expectsVideo: video != nil && fileType != .ogg, expectsAudio: hasAudio),
                              defaultName: defaultName)
        }
        guard case .transcode(let settings) = spec.encoding else { throw RecorderError("no encoding settings") }
        // A live stream (FLV, MPEG-TS) carries AAC: beside one, the file is MP4 unless it says otherwise.
        let fileType = file?.container(recordsVideo: spec.recordsVideo, audioCodec: settings.audioCodec,
                                       besideStream: spec.outputs.carriesLiveStream)
        if let fileType, spec.outputs.carriesLiveStream, fileType != .mp4 {
            throw RecorderError("a live stream carries AAC audio, which a \(fileType.rawValue) file does not take; record MP4 beside it", code: 400)
        }
        let audioEncoding: Encoder.AudioEncoding
        switch (fileType, settings.audioCodec) {
        case (.mp4?, .opus?): audioEncoding = .opus
        case (.mp4?, _), (nil, _): audioEncoding = .aac
        case (.ogg?, _): audioEncoding = .opus
        case (.mp3?, _): audioEncoding = .mp3
        case (.webm?, _): throw RecorderError("WebM output needs VP8 encoding, which this server does not do yet; use MP4 or PASSTHROUGH")
        }
        if settings.videoCodec == .vp8 { throw RecorderError("VP8 encoding is not supported yet; use H.264") }
        // The file decides whether there is video (OGG and MP3 have none); without one, there
        // is video when the egress records it.
        let withVideo = if let fileType { fileType == .mp4 && spec.recordsVideo } else { spec.recordsVideo }
        return OutputPlan(fileType: fileType, mode: .transcode(settings, withVideo: withVideo, audioEncoding: audioEncoding),
                          defaultName: defaultName)
    }

    /// The size of the recording's pictures (what thumbnails default to).
    var pictureSize: (width: Int32, height: Int32) {
        if case .transcode(let settings, _, _) = mode { return (settings.width, settings.height) }
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

    /// The writer for the file at `file`, the HLS output `segments` and the live `streams` (any
    /// may be absent, not all).
    func makeWriter(file: ConfinedPath?, segments: SegmentedOutput?, streams: [LiveStreamOutput], thumbnails: [ThumbnailOutput],
                    staleAfter: Int64) throws -> any MediaWriter {
        switch mode {
        case .passthrough(let expectsVideo, let expectsAudio):
            guard let file, let fileType else { throw RecorderError("a passthrough egress without a file") }
            return PassthroughWriter(target: file, format: fileType.rawValue, expectsVideo: expectsVideo, expectsAudio: expectsAudio)
        case .transcode(let settings, let withVideo, let audioEncoding):
            let fileOutput = try file.map { target in try FilePacketOutput(target: target, format: fileType?.rawValue ?? "mp4") }
            return try TranscodingWriter(file: fileOutput, segments: segments, streams: streams, thumbnails: thumbnails, settings: settings, withVideo: withVideo,
                                         audioEncoding: audioEncoding, staleAfter: staleAfter)
        }
    }
}
