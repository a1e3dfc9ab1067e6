/// How an egress encodes: a LiveKit preset or advanced options, resolved to concrete settings,
/// or no transcoding at all.
public enum Encoding: Sendable, Equatable, Codable {
    /// Remux what arrives (PASSTHROUGH, and every Track egress).
    case passthrough
    case transcode(EncodingSettings)
}

public enum AudioCodec: String, Sendable, Equatable, Codable {
    case opus, aac, mp3
}

public enum VideoCodec: String, Sendable, Equatable, Codable {
    case h264, vp8
}

public enum H264Profile: String, Sendable, Equatable, Codable {
    case baseline, main, high
}

/// Concrete encoder settings.
public struct EncodingSettings: Sendable, Equatable, Codable {
    public var width: Int32
    public var height: Int32
    /// Bits per pixel of the capture: 8, 16 or 24.
    public var depth: Int32
    public var framerate: Int32
    /// kbps.
    public var videoBitrate: Int32
    /// nil: chosen to fit the container.
    public var videoCodec: VideoCodec?
    public var videoProfile: H264Profile
    /// Seconds between key frames; 0 lets the encoder choose.
    public var keyFrameInterval: Double
    /// nil: chosen to fit the container.
    public var audioCodec: AudioCodec?
    /// kbps.
    public var audioBitrate: Int32
    /// Hz.
    public var audioFrequency: Int32

    /// LiveKit's defaults, which are also the H264_720P_30 preset.
    public static let `default` = EncodingSettings(
        width: 1280, height: 720, depth: 24, framerate: 30, videoBitrate: 3000, videoCodec: nil,
        videoProfile: .main, keyFrameInterval: 0, audioCodec: nil, audioBitrate: 128, audioFrequency: 44100)

    /// The settings of a LiveKit `EncodingOptionsPreset`, by its number (PASSTHROUGH, 8, is not one).
    public static func preset(_ number: Int32) -> EncodingSettings? {
        var settings = EncodingSettings.default
        let shape: (Int32, Int32, Int32, Int32)  // width, height, fps, kbps
        switch number {
        case 0: shape = (1280, 720, 30, 3000)
        case 1: shape = (1280, 720, 60, 4500)
        case 2: shape = (1920, 1080, 30, 4500)
        case 3: shape = (1920, 1080, 60, 6000)
        case 4: shape = (720, 1280, 30, 3000)
        case 5: shape = (720, 1280, 60, 4500)
        case 6: shape = (1080, 1920, 30, 4500)
        case 7: shape = (1080, 1920, 60, 6000)
        default: return nil
        }
        (settings.width, settings.height, settings.framerate, settings.videoBitrate) = shape
        return settings
    }
}
