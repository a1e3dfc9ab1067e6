import APIMessages
import RPC
import SessionManager

/// Reads a request's `preset` / `advanced` oneof into an `Encoding`, validating as LiveKit does.
enum EncodingDecoder {
    /// The oneof's member, whichever request it is in.
    enum Options {
        case preset(Livekit_EncodingOptionsPreset)
        case advanced(Livekit_EncodingOptions)

        init(_ options: Livekit_ParticipantEgressRequest.OneOf_Options) {
            switch options {
            case .preset(let preset): self = .preset(preset)
            case .advanced(let advanced): self = .advanced(advanced)
            }
        }

        init(_ options: Livekit_TrackCompositeEgressRequest.OneOf_Options) {
            switch options {
            case .preset(let preset): self = .preset(preset)
            case .advanced(let advanced): self = .advanced(advanced)
            }
        }

        init(_ options: Livekit_StartEgressRequest.OneOf_Encoding) {
            switch options {
            case .preset(let preset): self = .preset(preset)
            case .advanced(let advanced): self = .advanced(advanced)
            }
        }
    }

    /// No options: LiveKit's default, H264_720P_30.
    static func decode(_ options: Options?) throws(RPCError) -> Encoding {
        switch options {
        case nil: return .transcode(.default)
        case .advanced(let advanced)?: return .transcode(try settings(from: advanced))
        case .preset(.passthrough)?: return .passthrough
        case .preset(let preset)?:
            guard let settings = EncodingSettings.preset(preset.rawValue) else {
                throw RequestErrors.invalidField("preset", "unknown preset \(preset.rawValue)")
            }
            return .transcode(settings)
        }
    }

    /// Limits of the advanced options, far above any real use: 200 Mbit/s of video, 512 kbit/s of
    /// audio, a key frame at least every hour.
    static let maxVideoKbps: Int32 = 200_000
    static let maxAudioKbps: Int32 = 512
    static let maxKeyFrameInterval: Double = 3600
    static let maxPixelsPerSecond: Int64 = 3840 * 2160 * 60

    /// Advanced options on top of LiveKit's defaults; zero means "keep the default".
    static func settings(from options: Livekit_EncodingOptions) throws(RPCError) -> EncodingSettings {
        var settings = EncodingSettings.default
        for (dimension, value) in [("width", options.width), ("height", options.height)] {
            guard value == 0 || (value >= 16 && value % 2 == 0 && value <= 7680) else {
                throw RequestErrors.invalidField(dimension, "\(value) is not an even number of pixels from 16 to 7680")
            }
        }
        if options.width > 0 { settings.width = options.width }
        if options.height > 0 { settings.height = options.height }
        switch options.depth {
        case 0: break
        case 8, 16, 24: settings.depth = options.depth
        default: throw RequestErrors.invalidField("depth", "must be 8, 16 or 24")
        }
        let framerate = options.framerate
        guard (0...240).contains(framerate) else { throw RequestErrors.invalidField("framerate", "\(framerate) is not 1 to 240") }
        if framerate > 0 { settings.framerate = framerate }
        for (field, value, limit) in [("video_bitrate", options.videoBitrate, Self.maxVideoKbps),
                                      ("audio_bitrate", options.audioBitrate, Self.maxAudioKbps)] {
            guard (0...limit).contains(value) else {
                throw RequestErrors.invalidField(field, "\(value) kbps is not from 0 to \(limit)")
            }
        }
        if options.videoBitrate > 0 { settings.videoBitrate = options.videoBitrate }
        if options.audioBitrate > 0 { settings.audioBitrate = options.audioBitrate }
        let frequency = options.audioFrequency
        guard frequency == 0 || [8000, 16000, 22050, 24000, 32000, 44100, 48000].contains(frequency) else {
            throw RequestErrors.invalidField("audio_frequency", "\(frequency) Hz is not a supported sample rate")
        }
        if frequency > 0 { settings.audioFrequency = frequency }
        // What one encoder may be asked to do: at most 4K at 60 frames a second.
        let pixelsPerSecond = Int64(settings.width) * Int64(settings.height) * Int64(settings.framerate)
        guard pixelsPerSecond <= Self.maxPixelsPerSecond else {
            throw RequestErrors.invalidField("width", "\(settings.width)×\(settings.height) at \(settings.framerate) fps is more than 3840×2160 at 60 fps")
        }
        let interval = options.keyFrameInterval
        guard interval.isFinite, interval >= 0, interval <= Self.maxKeyFrameInterval else {
            throw RequestErrors.invalidField("key_frame_interval", "must be zero or a number of seconds up to \(Int(Self.maxKeyFrameInterval))")
        }
        settings.keyFrameInterval = interval
        switch options.audioCodec {
        case .defaultAc: settings.audioCodec = nil
        case .opus: settings.audioCodec = .opus
        case .aac: settings.audioCodec = .aac
        case .acMp3: settings.audioCodec = .mp3
        case .unrecognized(let other): throw RequestErrors.invalidField("audio_codec", "unknown codec \(other)")
        }
        switch options.videoCodec {
        case .defaultVc: settings.videoCodec = nil
        case .h264Baseline: (settings.videoCodec, settings.videoProfile) = (.h264, .baseline)
        case .h264Main: (settings.videoCodec, settings.videoProfile) = (.h264, .main)
        case .h264High: (settings.videoCodec, settings.videoProfile) = (.h264, .high)
        case .vp8: settings.videoCodec = .vp8
        case .unrecognized(let other): throw RequestErrors.invalidField("video_codec", "unknown codec \(other)")
        }
        return settings
    }
}
