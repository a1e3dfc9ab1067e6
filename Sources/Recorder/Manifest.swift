import Foundation
import SessionManager
import Support

/// The JSON manifest written beside an egress's outputs (`<egress_id>.json`): what was recorded,
/// where, and when, readable without the server.
enum Manifest {
    private struct Document: Encodable {
        struct File: Encodable {
            var filename: String
            var location: String
            var size: Int64
            var duration: Int64
            var started_at: Int64
            var ended_at: Int64
        }

        struct Segments: Encodable {
            var playlist_name: String
            var live_playlist_name: String
            var playlist_location: String
            var segment_count: Int64
            var size: Int64
            var duration: Int64
        }

        var egress_id: String
        var room_id: String
        var room_name: String
        var started_at: Int64
        var ended_at: Int64
        var files: [File]
        var segments: [Segments]
    }

    /// Writes the manifest beside the recording: in the directory `file` was made in (held
    /// open, so it is that directory even if a name on the way has changed since), or, with no
    /// file, at `output`'s. Whole or not at all: under a temporary name first. Returns its path.
    static func write(for egress: EgressRecord, roomID: String, results: EgressResults, beside file: ConfinedFile?,
                      at output: ConfinedPath) throws -> String {
        let files = results.files.map {
            Document.File(filename: $0.filename, location: $0.location, size: $0.size, duration: $0.duration,
                          started_at: $0.startedAt, ended_at: $0.endedAt)
        }
        let segments = results.segments.map {
            Document.Segments(playlist_name: $0.playlistName, live_playlist_name: $0.livePlaylistName, playlist_location: $0.playlistLocation,
                              segment_count: $0.segmentCount, size: $0.size, duration: $0.duration)
        }
        let started = files.first?.started_at ?? results.segments.first?.startedAt ?? 0
        let ended = files.first?.ended_at ?? results.segments.first?.endedAt ?? 0
        let document = Document(egress_id: egress.id, room_id: roomID, room_name: egress.spec.roomName,
                                started_at: started, ended_at: ended, files: files, segments: segments)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = Array(try encoder.encode(document))
        let manifest = try file?.sibling(named: egress.id + ".json") ?? ConfinedFile.create(output.sibling(named: egress.id + ".json"))
        let part = try manifest.sibling(named: egress.id + ".json.part")
        try part.append(bytes)
        try part.rename(over: manifest)
        return manifest.path
    }
}
