import CFFmpeg

/// What the linked FFmpeg libraries can write, asked of libavformat and libavcodec once.
public struct MediaCapabilities: Sendable {
    /// Muxers by FFmpeg name (`mp4`, `ogg`, `webm`, `mp3`, `hls`, `flv`, `image2`) that are present.
    public let muxers: Set<String>
    /// Encoders by FFmpeg name (`libx264`, `aac`, `libopus`, `libvpx`, `mjpeg`, `libmp3lame`) that are present.
    public let encoders: Set<String>
    /// e.g. `libavformat 59.27.100, libavcodec 59.37.100`.
    public let versions: String

    public static let wanted = (
        muxers: ["mp4", "ogg", "webm", "mp3", "hls", "flv", "image2", "mpegts"],
        encoders: ["libx264", "aac", "libopus", "libvpx", "mjpeg", "libmp3lame"]
    )

    /// Asks the linked libraries.
    public static func probe() -> MediaCapabilities {
        let muxers = wanted.muxers.filter { av_guess_format($0, nil, nil) != nil }
        let encoders = wanted.encoders.filter { avcodec_find_encoder_by_name($0) != nil }
        return MediaCapabilities(muxers: Set(muxers), encoders: Set(encoders),
                                 versions: "libavformat \(version(avformat_version())), libavcodec \(version(avcodec_version()))")
    }

    public init(muxers: Set<String>, encoders: Set<String>, versions: String) {
        self.muxers = muxers
        self.encoders = encoders
        self.versions = versions
    }

    private static func version(_ packed: UInt32) -> String {
        "\(packed >> 16).\(packed >> 8 & 0xFF).\(packed & 0xFF)"
    }
}
