import Foundation
import Media
import SessionManager
import Support

/// HLS (`segment_outputs`): MPEG-TS segments of about `segmentDuration` seconds, each cut at a
/// video key frame (at an audio packet when there is no video), named `<prefix>_00000.ts` (or
/// by the time their media starts), and the playlists that list them. With fragmented MP4
/// (`HLS_FMP4_PROTOCOL`) one MP4 muxer runs for the whole output: its header is the init
/// segment `<prefix>_init.mp4` (`#EXT-X-MAP`), and each segment, `<prefix>_00000.m4s`, is one
/// of its fragments, cut where an MPEG-TS segment would be. The playlists are
/// rewritten whole under a temporary name and renamed over the old, after every segment: a
/// reader always finds a valid one. At the end the full playlist is closed with
/// `#EXT-X-ENDLIST` (a complete VOD list).
final class SegmentedOutput: PacketOutput {
    /// Segments the live playlist lists.
    static let livePlaylistLength = 5

    let segmentDuration: UInt32
    /// `<prefix>` of the segment names, relative to the output directory.
    let prefix: ConfinedPath
    private let timestampSuffix: Bool
    /// fMP4 segments rather than MPEG-TS.
    private let fragmented: Bool
    /// fMP4: the muxer whose fragments are the segments, and the sink that sends its bytes to
    /// the file of the segment being written.
    private var fragments: (muxer: Muxer, sink: SegmentSink, videoStream: Int?, audioStream: Int)?
    let playlistTarget: ConfinedPath
    let livePlaylistTarget: ConfinedPath?
    /// Unix nanoseconds of media position 0.
    private let wallClockOrigin: Int64

    private var video: Encoder?
    private var audio: Encoder?
    private var current: Segment?
    private var playlist: HLSPlaylist
    /// The end of the last packet written, in seconds of media.
    private var lastEnd: Double = 0
    private var closed = false
    private(set) var bytesWritten: Int64 = 0
    /// The playlist file once written (its directory is where the manifest goes).
    private(set) var playlistFile: ConfinedFile?
    /// Sends segments and playlists to the output's bucket as they are written, if it has one.
    private let uploader: OutputUploader?
    /// Why the upload failed, once finished (the local copies are kept then).
    private(set) var uploadFailure: String?
    /// Whether everything went up (the results name the bucket's URLs, the local copies are gone).
    private var uploaded = false

    private struct Segment {
        let file: ConfinedFile
        let muxer: Muxer
        let videoStream: Int?
        let audioStream: Int
        let name: String
        /// Seconds of media at which it starts.
        let start: Double
    }

    init(output: SegmentsOutput, prefix: ConfinedPath, playlist: ConfinedPath, livePlaylist: ConfinedPath?, wallClockOrigin: Int64,
         uploader: OutputUploader?) {
        self.uploader = uploader
        segmentDuration = max(1, output.segmentDuration)
        self.prefix = prefix
        timestampSuffix = output.timestampSuffix
        fragmented = output.fragmentedMP4
        playlistTarget = playlist
        livePlaylistTarget = livePlaylist
        self.wallClockOrigin = wallClockOrigin
        self.playlist = HLSPlaylist(segmentDuration: segmentDuration)
    }

    var label: String { "HLS \(playlistTarget.path)" }
    var metricKind: OutputMetrics.Kind { .segments }
    /// Whether the encoders must keep their codec headers out of band (an fMP4 init segment holds them).
    var wantsGlobalHeader: Bool { fragmented }
    var playlistPath: String { playlistTarget.relative }

    func start(video: Encoder?, audio: Encoder) throws {
        self.video = video
        self.audio = audio
    }

    func write(_ packet: Packet, _ kind: StreamKind) throws {
        guard !closed else { return }
        let time = packet.seconds
        let cuts = kind == .video ? packet.isKeyframe : video == nil
        if let segment = current, cuts, time - segment.start >= Double(segmentDuration) - 0.001 {
            try closeSegment(endingAt: time)
        }
        if current == nil {
            // A segment starts at a key frame: video before the first one is not written.
            if kind == .video, !packet.isKeyframe { return }
            try openSegment(at: time)
        }
        guard let segment = current else { return }
        let end = time + packet.durationSeconds
        lastEnd = max(lastEnd, end)
        switch kind {
        case .video: if let stream = segment.videoStream { try segment.muxer.write(packet, stream: stream) }
        case .audio: try segment.muxer.write(packet, stream: segment.audioStream)
        }
    }

    func finish() throws {
        guard !closed else { return }
        closed = true
        if current != nil { try closeSegment(endingAt: lastEnd) }
        if let fragments {
            // Every fragment is out: nothing more goes to a segment (the trailer is skipped).
            fragments.sink.file = nil
            try fragments.muxer.finish()
        }
        var ended = playlist
        ended.ended = true
        try writePlaylists(ended)
        playlist = ended
        if let uploader {
            uploadFailure = uploader.finish()
            uploaded = uploadFailure == nil
        }
    }

    /// What was written, for `segment_results`.
    func result() -> SegmentsResult {
        func location(_ target: ConfinedPath?) -> String {
            guard let target else { return "" }
            guard uploaded, let uploader else { return target.path }
            return uploader.url(of: target.relative)
        }
        var result = SegmentsResult(playlistName: playlistTarget.relative, livePlaylistName: livePlaylistTarget?.relative ?? "",
                                    playlistLocation: location(playlistTarget), livePlaylistLocation: location(livePlaylistTarget))
        let seconds = playlist.segments.reduce(0) { $0 + $1.duration }
        result.duration = Self.nanoseconds(seconds)
        result.size = bytesWritten
        result.segmentCount = Int64(playlist.segments.count)
        result.startedAt = playlist.segments.first?.startedAt ?? 0
        result.endedAt = result.startedAt &+ result.duration
        return result
    }

    // MARK: Segments

    private func openSegment(at time: Double) throws {
        let index = playlist.mediaSequence + playlist.segments.count
        let startedAt = wallClockOrigin &+ Self.nanoseconds(time)
        let suffix = timestampSuffix ? Self.timestamp(startedAt) : String(format: "%05d", index)
        let name = PathText.lastComponent(of: prefix.relative)
        let target = prefix.sibling(named: name + "_" + suffix + (fragmented ? ".m4s" : ".ts"))
        guard let audio else { throw RecorderError("HLS output started without its encoders") }
        if fragmented {
            let fragments = try self.fragments ?? startFragments(audio: audio, initTarget: prefix.sibling(named: name + "_init.mp4"))
            let file = try ConfinedFile.create(target)
            fragments.sink.file = file
            current = Segment(file: file, muxer: fragments.muxer, videoStream: fragments.videoStream, audioStream: fragments.audioStream,
                              name: target.relative, start: time)
            return
        }
        let file = try ConfinedFile.create(target)
        let muxer = try Muxer(file: file, format: "mpegts")
        let videoStream = try video.map { try muxer.addStream(from: $0) }
        let audioStream = try muxer.addStream(from: audio)
        try muxer.writeHeader()
        current = Segment(file: file, muxer: muxer, videoStream: videoStream, audioStream: audioStream, name: target.relative, start: time)
    }

    /// fMP4: the one muxer, its header written to the init segment at `initTarget`.
    private func startFragments(audio: Encoder, initTarget: ConfinedPath) throws -> (muxer: Muxer, sink: SegmentSink, videoStream: Int?, audioStream: Int) {
        let sink = SegmentSink()
        let initFile = try ConfinedFile.create(initTarget)
        sink.file = initFile
        let muxer = try Muxer(format: "mp4", sink: sink, label: label)
        let videoStream = try video.map { try muxer.addStream(from: $0) }
        let audioStream = try muxer.addStream(from: audio)
        try muxer.writeHeader()
        if let failure = sink.failure { throw failure }
        uploader?.send(initFile, at: initTarget)
        playlist.mapURI = PathText.lastComponent(of: initTarget.relative)
        let fragments = (muxer, sink, videoStream, audioStream)
        self.fragments = fragments
        return fragments
    }

    private func closeSegment(endingAt end: Double) throws {
        guard let segment = current else { return }
        current = nil
        if fragmented {
            try segment.muxer.flushFragment()
            if let failure = fragments?.sink.failure { throw failure }
        } else {
            try segment.muxer.finish()
        }
        uploader?.send(segment.file, at: segment.file.target)
        var next = playlist
        next.segments.append(HLSPlaylist.Segment(uri: PathText.lastComponent(of: segment.name), duration: max(0, end - segment.start),
                                                 startedAt: wallClockOrigin &+ Self.nanoseconds(segment.start)))
        // The results count what the playlist on disk lists: a segment is in once it is there.
        try writePlaylists(next)
        playlist = next
        bytesWritten += segment.file.size
    }

    private func writePlaylists(_ playlist: HLSPlaylist) throws {
        let full = try ConfinedFile.replace(playlistTarget, with: Array(playlist.text.utf8))
        playlistFile = full
        uploader?.send(full, at: playlistTarget)
        if let livePlaylistTarget {
            let live = try ConfinedFile.replace(livePlaylistTarget, with: Array(HLSPlaylist.live(of: playlist, keeping: Self.livePlaylistLength).text.utf8))
            uploader?.send(live, at: livePlaylistTarget)
        }
    }

    /// Seconds of media as nanoseconds, never a trapping conversion (a packet without a time
    /// gives a meaningless number, not a crash): within ±100 years.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return 0 }
        return Int64((min(max(seconds, -3.2e9), 3.2e9) * 1e9).rounded())
    }

    /// A segment's time suffix: UTC, to the millisecond (`20261128T054000123`).
    static func timestamp(_ unixNanoseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmssSSS"
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixNanoseconds) / 1e9))
    }
}

/// Where an fMP4 output's muxer writes: the file of the segment being written (the init
/// segment first), appended to as the bytes come.
final class SegmentSink: MuxerSink {
    var file: ConfinedFile?
    /// The first write that failed.
    private(set) var failure: ConfinedFile.Failure?

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        guard let file else { return true }  // between the last fragment and the end: nothing to keep
        do {
            try file.append(Array(bytes))
            return true
        } catch {
            failure = error
            return false
        }
    }
}
