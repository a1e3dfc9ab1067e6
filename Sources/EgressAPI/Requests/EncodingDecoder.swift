import Protobuf
import RPC
import SessionManager

/// Reads a request's `preset` / `advanced` oneof into an `Encoding`, validating as LiveKit does.
enum EncodingDecoder {
    static func decode(_ request: ProtoMessage) throws(RPCError) -> Encoding {
        if let advanced = request.message("advanced") {
            return .transcode(try settings(from: advanced))
        }
        guard request.has("preset") else { return .transcode(.default) }
        let preset = request.enumNumber("preset")
        if preset == 8 { return .passthrough }  // PASSTHROUGH
        guard let settings = EncodingSettings.preset(preset) else {
            throw RequestErrors.invalidField("preset", "unknown preset \(preset)")
        }
        return .transcode(settings)
    }

    /// Limits of the advanced options, far above any real use: 200 Mbit/s of video, 512 kbit/s of
    /// audio, a key frame at least every hour.
    static let maxVideoKbps: Int32 = 200_000
    static let maxAudioKbps: Int32 = 512
    static let maxKeyFrameInterval: Double = 3600
    static let maxPixelsPerSecond: Int64 = 3840 * 2160 * 60

    /// Advanced options on top of LiveKit's defaults; zero means "keep the default".
    static func settings(from options: ProtoMessage) throws(RPCError) -> EncodingSettings {
        var settings = EncodingSettings.default
        for dimension in ["width", "height"] {
            let value = options.int32(dimension)
            guard value == 0 || (value >= 16 && value % 2 == 0 && value <= 7680) else {
                throw RequestErrors.invalidField(dimension, "\(value) is not an even number of pixels from 16 to 7680")
            }
        }
        if options.int32("width") > 0 { settings.width = options.int32("width") }
        if options.int32("height") > 0 { settings.height = options.int32("height") }
        switch options.int32("depth") {
        case 0: break
        case 8, 16, 24: settings.depth = options.int32("depth")
        default: throw RequestErrors.invalidField("depth", "must be 8, 16 or 24")
        }
        let framerate = options.int32("framerate")
        guard (0...240).contains(framerate) else { throw RequestErrors.invalidField("framerate", "\(framerate) is not 1 to 240") }
        if framerate > 0 { settings.framerate = framerate }
        for (field, value, limit) in [("video_bitrate", options.int32("video_bitrate"), Self.maxVideoKbps),
                                      ("audio_bitrate", options.int32("audio_bitrate"), Self.maxAudioKbps)] {
            guard (0...limit).contains(value) else {
                throw RequestErrors.invalidField(field, "\(value) kbps is not from 0 to \(limit)")
            }
        }
        if options.int32("video_bitrate") > 0 { settings.videoBitrate = options.int32("video_bitrate") }
        if options.int32("audio_bitrate") > 0 { settings.audioBitrate = options.int32("audio_bitrate") }
        let frequency = options.int32("audio_frequency")
        guard frequency == 0 || [8000, 16000, 22050, 24000, 32000, 44100, 48000].contains(frequency) else {
            throw RequestErrors.invalidField("audio_frequency", "\(frequency) Hz is not a supported sample rate")
        }
        if frequency > 0 { settings.audioFrequency = frequency }
        // What one encoder may be asked to do: at most 4K at 60 frames a second.
        let pixelsPerSecond = Int64(settings.width) * Int64(settings.height) * Int64(settings.framerate)
        guard pixelsPerSecond <= Self.maxPixelsPerSecond else {
            throw RequestErrors.invalidField("width", "\(settings.width)×\(settings.height) at \(settings.framerate) fps is more than 3840×2160 at 60 fps")
        }
        let interval = options.double("key_frame_interval")
        guard interval.isFinite, interval >= 0, interval <= Self.maxKeyFrameInterval else {
            throw RequestErrors.invalidField("key_frame_interval", "must be zero or a number of seconds up to \(Int(Self.maxKeyFrameInterval))")
        }
        settings.keyFrameInterval = interval
        switch options.enumNumber("audio_codec") {
        case 0: settings.audioCodec = nil
        case 1: settings.audioCodec = .opus
        case 2: settings.audioCodec = .aac
        case 3: settings.audioCodec = .mp3
        case let other: throw RequestErrors.invalidField("audio_codec", "unknown codec \(other)")
        }
        switch options.enumNumber("video_codec") {
        case 0: settings.videoCodec = nil
        case 1: (settings.videoCodec, settings.videoProfile) = (.h264, .baseline)
        case 2: (settings.videoCodec, settings.videoProfile) = (.h264, .main)
        case 3: (settings.videoCodec, settings.videoProfile) = (.h264, .high)
        case 4: settings.videoCodec = .vp8
        case let other: throw RequestErrors.invalidField("video_codec", "unknown codec \(other)")
        }
        return settings
    }
}
