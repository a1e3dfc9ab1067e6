import Media
import SessionManager
import Support

/// The kind of stream a packet belongs to.
enum StreamKind {
    case video, audio
}

/// Where an egress's encoded packets go: a file, HLS segments, a live stream. The encoders run
/// once and every output gets each packet of its codecs (`TranscodingWriter`);
/// an output that fails is dropped from the fan-out while the others go on.
protocol PacketOutput: AnyObject {
    /// What the output is, for logs and errors ("file rec/a.mp4", "HLS rec/playlist.m3u8").
    var label: String { get }
    /// Its kind, for the output metrics.
    var metricKind: OutputMetrics.Kind { get }
    /// Adds the output's streams for the encoders' packets and writes what comes first.
    func start(video: Encoder?, audio: Encoder) throws
    /// One packet of `kind`; the output may change its times (it owns the packet).
    func write(_ packet: Packet, _ kind: StreamKind) throws
    /// Writes what is left and closes the output, playable.
    func finish() throws
}

/// One container file (MP4, OGG, MP3): a libavformat muxer.
final class FilePacketOutput: PacketOutput {
    let file: ConfinedFile
    let muxer: Muxer
    /// Whether the container holds video (MP4, WebM; not OGG or MP3).
    let takesVideo: Bool
    private var videoStream: Int?
    private var audioStream = 0

    init(target: ConfinedPath, type: FileType) throws {
        file = try ConfinedFile.create(target)
        muxer = try Muxer(file: file, format: type.rawValue)
        takesVideo = type == .mp4 || type == .webm
    }

    var label: String { "file \(file.path)" }
    var metricKind: OutputMetrics.Kind { .file }
    /// Whether the encoders must keep their codec headers out of band for this container.
    var wantsGlobalHeader: Bool { muxer.wantsGlobalHeader }

    func start(video: Encoder?, audio: Encoder) throws {
        if let video { videoStream = try muxer.addStream(from: video) }
        audioStream = try muxer.addStream(from: audio)
        try muxer.writeHeader()
    }

    func write(_ packet: Packet, _ kind: StreamKind) throws {
        switch kind {
        case .video: if let videoStream { try muxer.write(packet, stream: videoStream) }
        case .audio: try muxer.write(packet, stream: audioStream)
        }
    }

    func finish() throws {
        try muxer.finish()
    }
}
