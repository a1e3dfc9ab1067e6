import Rooms
import RTP
import SessionManager
import Support

/// What file an egress writes, decided when its first media arrives: the container, whether it
/// transcodes, and with which encoders.
struct OutputPlan {
    enum Mode {
        case passthrough(expectsVideo: Bool, expectsAudio: Bool)
        case transcode(EncodingSettings, withVideo: Bool, audioEncoder: String)
    }

    var fileType: FileType
    var mode: Mode
    /// The name used when the request's path is empty or a directory.
    var defaultName: String

    static func make(spec: EgressSpec, file: FileOutput, video: HubTrack?, hasAudio: Bool) throws -> OutputPlan {
        let defaultName: String = switch spec.source {
        case .track: "{room_name}-{track_id}-{time}"
        case .trackComposite: "{room_name}-{time}"
        case .participant, .media: "{room_name}-{publisher_identity}-{time}"
        }
        let passthrough: Bool = if case .track = spec.source { true } else { spec.encoding == .passthrough }
        if passthrough {
            let fileType = try passthroughType(file.fileType, video: video?.codec, hasAudio: hasAudio)
            return OutputPlan(fileType: fileType,
                              mode: .passthrough(expectsVideo: video != nil && fileType != .ogg, expectsAudio: hasAudio),
                              defaultName: defaultName)
        }
        guard case .transcode(let settings) = spec.encoding else { throw RecorderError("no encoding settings") }
        let fileType = file.fileType ?? (spec.recordsVideo && video != nil ? .mp4 : .ogg)
        let audioEncoder: String
        switch (fileType, settings.audioCodec) {
        case (.mp4, .opus?): audioEncoder = "libopus"
        case (.mp4, _): audioEncoder = "aac"
        case (.ogg, _): audioEncoder = "libopus"
        case (.mp3, _): audioEncoder = "libmp3lame"
        case (.webm, _): throw RecorderError("WebM output needs VP8 encoding, which this server does not do yet; use MP4 or PASSTHROUGH")
        }
        if settings.videoCodec == .vp8 { throw RecorderError("VP8 encoding is not supported yet; use H.264") }
        let withVideo = fileType == .mp4 && spec.recordsVideo
        return OutputPlan(fileType: fileType, mode: .transcode(settings, withVideo: withVideo, audioEncoder: audioEncoder),
                          defaultName: defaultName)
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

    func makeWriter(target: ConfinedPath, staleAfter: Int64) throws -> any MediaWriter {
        let format = fileType.rawValue
        switch mode {
        case .passthrough(let expectsVideo, let expectsAudio):
            return PassthroughWriter(target: target, format: format, expectsVideo: expectsVideo, expectsAudio: expectsAudio)
        case .transcode(let settings, let withVideo, let audioEncoder):
            return try TranscodingWriter(target: target, format: format, settings: settings, withVideo: withVideo,
                                         audioEncoderName: audioEncoder, staleAfter: staleAfter)
        }
    }
}
