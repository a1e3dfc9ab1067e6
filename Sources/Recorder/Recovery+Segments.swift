import Logging
import SessionManager
import Support

extension RecordingBackend {
    /// The longest playlist read back after a restart (a day of 1 s segments is ~10 MB).
    static let maxRecoveredPlaylist = 64 << 20

    /// After a restart: an HLS output's playlists, as the killed process left them (listing
    /// every segment that was complete), are ended (`#EXT-X-ENDLIST`) so that players take them
    /// as a finished recording, and its result made true again from the playlist: segments,
    /// duration, size. The segment being written at the kill is not listed (at most one
    /// segment's worth is lost); one that never got into the playlist stays on disk.
    func recoverSegments(_ result: SegmentsResult) throws(RecorderError) -> SegmentsResult {
        let root = configuration.outputDirectory
        let playlist = ConfinedPath(root: root, relative: result.playlistName)
        let listed: [(uri: String, seconds: Double)]
        do {
            listed = try Self.endPlaylist(playlist)
            if !result.livePlaylistName.isEmpty {
                _ = try Self.endPlaylist(ConfinedPath(root: root, relative: result.livePlaylistName))
            }
        } catch {
            throw RecorderError("\(playlist.path) could not be ended: \(error)")
        }
        var recovered = result
        recovered.playlistLocation = playlist.path
        recovered.livePlaylistLocation = result.livePlaylistName.isEmpty ? "" : ConfinedPath(root: root, relative: result.livePlaylistName).path
        recovered.segmentCount = Int64(listed.count)
        recovered.duration = SegmentedOutput.nanoseconds(listed.reduce(0) { $0 + $1.seconds })
        recovered.size = listed.reduce(Int64(0)) { size, segment in
            size &+ ((try? ConfinedReader(playlist.sibling(named: segment.uri)).size) ?? 0)
        }
        recovered.endedAt = recovered.startedAt &+ recovered.duration
        return recovered
    }

    /// Appends `#EXT-X-ENDLIST` to the playlist at `target` unless it ends with it already;
    /// returns the segments it lists (each a name in the playlist's directory, and its seconds).
    static func endPlaylist(_ target: ConfinedPath) throws -> [(uri: String, seconds: Double)] {
        let reader = try ConfinedReader(target)
        guard reader.size <= maxRecoveredPlaylist else { throw RecorderError("the playlist is over \(maxRecoveredPlaylist) bytes") }
        let text = String(decoding: try reader.read(offset: 0, count: Int(reader.size)), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "#EXTM3U" else { throw RecorderError("it is not an HLS playlist") }
        var segments: [(uri: String, seconds: Double)] = []
        var pending: Double?
        for line in lines {
            if line.hasPrefix("#EXTINF:") {
                let value = line.dropFirst("#EXTINF:".count).prefix { $0 != "," }
                pending = Double(value).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
            } else if !line.hasPrefix("#"), !line.isEmpty, let seconds = pending {
                // Names this server wrote: in the playlist's own directory.
                if !line.contains("/"), line != "..", line != "." { segments.append((line, seconds)) }
                pending = nil
            }
        }
        if lines.last != "#EXT-X-ENDLIST" {
            _ = try ConfinedFile.replace(target, with: Array((text.hasSuffix("\n") || text.isEmpty ? text : text + "\n").utf8)
                                         + Array("#EXT-X-ENDLIST\n".utf8))
        }
        return segments
    }
}
