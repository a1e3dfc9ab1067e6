import Support

/// Where an egress writes. Paths are relative to the server's output directory, already checked
/// to stay inside it; they may hold filename templates (`{room_name}`, `{time}`, ...).
///
/// An egress may have several outputs of one kind (an MP4 and an OGG file, two HLS outputs):
/// the media is decoded and encoded once for all of them (a second audio encoder when two
/// containers take different audio codecs).
public struct Outputs: Sendable, Equatable, Codable {
    /// Files, HLS outputs or image outputs an egress may have, of each kind.
    public static let maxPerKind = 4

    public var files: [FileOutput]
    public var stream: StreamOutput?
    public var segments: [SegmentsOutput]
    public var images: [ImageOutput]
    /// Track egress only: raw media to a WebSocket.
    public var websocketURL: String?

    public init(files: [FileOutput] = [], stream: StreamOutput? = nil, segments: [SegmentsOutput] = [],
                images: [ImageOutput] = [], websocketURL: String? = nil) {
        self.files = files
        self.stream = stream
        self.segments = segments
        self.images = images
        self.websocketURL = websocketURL
    }

    /// Whether it streams over RTMP or SRT (encoded: FLV or MPEG-TS with H.264 and AAC).
    public var carriesLiveStream: Bool {
        guard let stream else { return false }
        return stream.streamProtocol != .websocket
    }

    public var isEmpty: Bool {
        files.isEmpty && stream == nil && segments.isEmpty && images.isEmpty && websocketURL == nil
    }
}

/// A container; its raw value is also the extension its files get.
public enum FileType: String, Sendable, Equatable, CaseIterable, Codable {
    case mp4, ogg, mp3, webm

    /// The container a path's extension names (`rec/a.MP4` → mp4), if any.
    public init?(extensionOf path: String) {
        let last = PathText.lastComponent(of: path).lowercased()
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return nil }
        self.init(rawValue: String(last[last.index(after: dot)...]))
    }
}

public struct FileOutput: Sendable, Equatable, Codable {
    /// nil: chosen from what is recorded (MP4 with video, OGG for audio only; Track egress by codec).
    public var fileType: FileType?
    /// Relative path or template; empty or ending in "/" gets a default name.
    public var path: String
    public var disableManifest: Bool
    /// Uploaded there once finished (the local copy is then removed), if set.
    public var upload: S3Upload?

    public init(fileType: FileType?, path: String, disableManifest: Bool, upload: S3Upload? = nil) {
        self.fileType = fileType
        self.path = path
        self.disableManifest = disableManifest
        self.upload = upload
    }

    /// The container the file is written as — the one rule the request's checks and the
    /// recorder share. DEFAULT_FILETYPE becomes the path's extension if it names a container
    /// (a requested `.mp4` is never renamed), else MP4 whenever there is video (a participant's
    /// camera may come later: black until then, as LiveKit records it), AAC audio or a live
    /// stream beside it (FLV and MPEG-TS carry AAC), MP3 for MP3 audio, OGG for other audio alone.
    public func container(recordsVideo: Bool, audioCodec: AudioCodec?, besideStream: Bool) -> FileType {
        if let fileType { return fileType }
        if let named = FileType(extensionOf: path) { return named }
        if recordsVideo || audioCodec == .aac || besideStream { return .mp4 }
        return audioCodec == .mp3 ? .mp3 : .ogg
    }
}

public enum StreamProtocol: String, Sendable, Equatable, Codable {
    case rtmp, srt, websocket
}

public struct StreamOutput: Sendable, Equatable, Codable {
    /// Stream URLs an egress may send to at once (a request, or UpdateStream, asking for more is refused).
    public static let maxURLs = 20
    /// The longest stream URL, in bytes.
    public static let maxURLLength = 2048
    /// Stream results an egress keeps: past this, the oldest finished ones are forgotten.
    public static let maxResults = 100

    public var streamProtocol: StreamProtocol
    public var urls: [String]

    public init(streamProtocol: StreamProtocol, urls: [String]) {
        self.streamProtocol = streamProtocol
        self.urls = urls
    }
}

public struct SegmentsOutput: Sendable, Equatable, Codable {
    public var filenamePrefix: String
    public var playlistName: String
    public var livePlaylistName: String
    /// Seconds per segment.
    public var segmentDuration: UInt32
    public var timestampSuffix: Bool
    public var disableManifest: Bool
    /// Fragmented-MP4 segments (`HLS_FMP4_PROTOCOL`: an init segment, then `.m4s`), not MPEG-TS.
    public var fragmentedMP4 = false
    /// Segments and playlists are uploaded there as they are written, if set.
    public var upload: S3Upload?

    /// The longest segment-name suffix: `_` + a UTC time to the millisecond + `.m4s`.
    public static let longestSegmentSuffix = "_20261128T054000123.m4s".utf8.count

    /// The file name a playlist (`name`, or the prefix's last name when empty) is written as:
    /// its last component, with `.m3u8` added if it has not got it. Its directory is the prefix's.
    public static func playlistFile(named name: String, prefix: String) -> String {
        var file = PathText.lastComponent(of: name.isEmpty ? prefix : name)
        if !file.lowercased().hasSuffix(".m3u8") { file += ".m3u8" }
        return file
    }

    /// Where a playlist named `name` is written, relative to the output directory: in the
    /// directory of `prefix` (both filled, or both as given).
    public static func playlistPath(named name: String, prefix: String) -> String {
        let directory = prefix.utf8.contains(UInt8(ascii: "/")) ? PathText.directory(of: prefix) + "/" : ""
        return directory + playlistFile(named: name, prefix: prefix)
    }

    public init(filenamePrefix: String, playlistName: String, livePlaylistName: String,
                segmentDuration: UInt32, timestampSuffix: Bool, disableManifest: Bool, upload: S3Upload? = nil) {
        self.upload = upload
        self.filenamePrefix = filenamePrefix
        self.playlistName = playlistName
        self.livePlaylistName = livePlaylistName
        self.segmentDuration = segmentDuration
        self.timestampSuffix = timestampSuffix
        self.disableManifest = disableManifest
    }
}

public struct ImageOutput: Sendable, Equatable, Codable {
    public enum Suffix: Int32, Sendable, Codable {
        case index = 0, timestamp = 1, noneOverwrite = 2
    }

    /// The longest image-name suffix: `_` + a UTC time to the millisecond + `.jpeg` + the
    /// temporary `.part` it is written under.
    public static let longestSuffix = "_20261128T054000123.jpeg.part".utf8.count
    /// The largest width or height, in pixels.
    public static let maxDimension: Int32 = 3840

    /// Seconds between captures.
    public var captureInterval: UInt32
    public var width: Int32
    public var height: Int32
    public var filenamePrefix: String
    public var suffix: Suffix
    public var disableManifest: Bool
    /// Each image is uploaded there once written, if set.
    public var upload: S3Upload?

    public init(captureInterval: UInt32, width: Int32, height: Int32, filenamePrefix: String, suffix: Suffix, disableManifest: Bool,
                upload: S3Upload? = nil) {
        self.upload = upload
        self.captureInterval = captureInterval
        self.width = width
        self.height = height
        self.filenamePrefix = filenamePrefix
        self.suffix = suffix
        self.disableManifest = disableManifest
    }
}
