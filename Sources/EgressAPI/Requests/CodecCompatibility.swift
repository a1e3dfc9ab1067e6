import Media
import RPC
import SessionManager

/// Which codecs each output can carry, checked against what the request asks for, as LiveKit
/// does ("format audio/ogg incompatible with codec video/h264").
enum CodecCompatibility {
    private struct Format {
        let name: String
        let audio: Set<AudioCodec>
        let video: Set<VideoCodec>
        /// The FFmpeg muxer that writes it.
        let muxer: String

        /// The codecs it gets when the request names none (LiveKit's defaults per format).
        var defaultAudio: AudioCodec? { audio.contains(.aac) ? .aac : audio.first }
        var defaultVideo: VideoCodec? { video.contains(.h264) ? .h264 : video.first }
    }

    /// - Parameter videoIsOptional: a participant's video can be left out of audio-only
    ///   containers (an OGG of a participant holds its microphone); explicitly chosen video cannot.
    static func check(_ outputs: Outputs, encoding: Encoding, recordsVideo: Bool, videoIsOptional: Bool,
                      capabilities: MediaCapabilities) throws(RPCError) {
        let settings: EncodingSettings? = if case .transcode(let s) = encoding { s } else { nil }
        for format in formats(of: outputs, settings: settings, recordsVideo: recordsVideo) {
            guard capabilities.muxers.contains(format.muxer) else {
                throw RPCError.unimplemented("\(format.name) output needs FFmpeg's \(format.muxer) muxer, which this server's FFmpeg lacks")
            }
            if let audio = settings?.audioCodec, !format.audio.contains(audio) {
                throw RequestErrors.incompatible(format: format.name, codec: mime(audio))
            }
            if recordsVideo {
                if let video = settings?.videoCodec, !format.video.contains(video) {
                    throw RequestErrors.incompatible(format: format.name, codec: mime(video))
                }
                if format.video.isEmpty, !videoIsOptional {
                    throw RequestErrors.incompatible(format: format.name, codec: mime(settings?.videoCodec ?? .h264))
                }
            }
            if let settings {
                if let audio = settings.audioCodec ?? format.defaultAudio {
                    try require(encoder(audio), for: mime(audio), in: capabilities)
                }
                if recordsVideo, let video = settings.videoCodec ?? format.defaultVideo {
                    try require(encoder(video), for: mime(video), in: capabilities)
                }
            }
        }
        if case .transcode = encoding, !outputs.images.isEmpty {
            try require("mjpeg", for: "image/jpeg", in: capabilities)
        }
    }

    private static func require(_ encoder: String, for codec: String, in capabilities: MediaCapabilities) throws(RPCError) {
        guard capabilities.encoders.contains(encoder) else {
            throw RPCError.unimplemented("\(codec) encoding needs FFmpeg's \(encoder) encoder, which this server's FFmpeg lacks")
        }
    }

    private static func encoder(_ codec: AudioCodec) -> String {
        switch codec {
        case .opus: "libopus"
        case .aac: "aac"
        case .mp3: "libmp3lame"
        }
    }

    private static func encoder(_ codec: VideoCodec) -> String {
        switch codec {
        case .h264: "libx264"
        case .vp8: "libvpx"
        }
    }

    private static func formats(of outputs: Outputs, settings: EncodingSettings?, recordsVideo: Bool) -> [Format] {
        var formats: [Format] = []
        for file in outputs.files {
            let type = file.container(recordsVideo: recordsVideo, audioCodec: settings?.audioCodec, besideStream: outputs.carriesLiveStream)
            switch type {
            case .mp4: formats.append(Format(name: "video/mp4", audio: [.aac, .opus], video: [.h264], muxer: "mp4"))
            case .ogg: formats.append(Format(name: "audio/ogg", audio: [.opus], video: [], muxer: "ogg"))
            case .mp3: formats.append(Format(name: "audio/mpeg", audio: [.mp3], video: [], muxer: "mp3"))
            case .webm: formats.append(Format(name: "video/webm", audio: [.opus], video: [.vp8], muxer: "webm"))
            }
        }
        if let stream = outputs.stream {
            switch stream.streamProtocol {
            case .rtmp: formats.append(Format(name: "rtmp", audio: [.aac], video: [.h264], muxer: "flv"))
            case .srt: formats.append(Format(name: "srt", audio: [.aac], video: [.h264], muxer: "mpegts"))
            // Raw PCM of the mix: any audio codec asked for the other outputs; no video.
            case .websocket: formats.append(Format(name: "websocket", audio: [.opus, .aac, .mp3], video: [], muxer: "ogg"))
            }
        }
        if !outputs.segments.isEmpty {
            // MPEG-TS segments; the playlists are written here, not by FFmpeg's hls muxer.
            formats.append(Format(name: "application/x-mpegurl", audio: [.aac], video: [.h264], muxer: "mpegts"))
        }
        return formats
    }

    private static func mime(_ codec: AudioCodec) -> String {
        switch codec {
        case .opus: "audio/opus"
        case .aac: "audio/aac"
        case .mp3: "audio/mpeg"
        }
    }

    private static func mime(_ codec: VideoCodec) -> String {
        switch codec {
        case .h264: "video/h264"
        case .vp8: "video/vp8"
        }
    }
}
