import Foundation
import SessionManager

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

        var egress_id: String
        var room_id: String
        var room_name: String
        var started_at: Int64
        var ended_at: Int64
        var files: [File]
    }

    /// Writes the manifest in the directory of `outputPath`; returns its path.
    static func write(for egress: EgressRecord, roomID: String, results: EgressResults, beside outputPath: String) throws -> String {
        let directory = outputPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let path = directory + "/" + egress.id + ".json"
        let files = results.files.map {
            Document.File(filename: $0.filename, location: $0.location, size: $0.size, duration: $0.duration,
                          started_at: $0.startedAt, ended_at: $0.endedAt)
        }
        let document = Document(egress_id: egress.id, room_id: roomID, room_name: egress.spec.roomName,
                                started_at: files.first?.started_at ?? 0, ended_at: files.first?.ended_at ?? 0, files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(document).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}
