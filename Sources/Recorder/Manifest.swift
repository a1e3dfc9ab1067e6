import Foundation
import Logging
import SessionManager
import Support

/// The JSON manifest written beside an egress's outputs (`<egress_id>.json`): what was recorded,
/// where, and when, readable without the server. Written when an output asks for it (any
/// output whose `disable_manifest` is not set), and uploaded with the outputs when they go to
/// a bucket.
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

        struct Images: Encodable {
            var filename_prefix: String
            var image_count: Int64
            var started_at: Int64
            var ended_at: Int64
        }

        var egress_id: String
        var room_id: String
        var room_name: String
        var started_at: Int64
        var ended_at: Int64
        var files: [File]
        var segments: [Segments]
        var images: [Images]
    }

    /// Writes the manifest if an output of `writer` wants one: beside the first file or
    /// playlist (in the directory it was made in, held open, so it is that directory even if a
    /// name on the way has changed since), or beside the first images. Uploaded to the bucket
    /// of the first output that has one; kept if that fails. Returns its location, if written.
    static func writeIfWanted(for egress: EgressRecord, roomID: String, results: EgressResults, writer: any MediaWriter,
                              partSize: Int64, uploadDeadline: UploadDeadline, logger: Logger) throws -> String? {
        let outputs = egress.spec.outputs
        let wanted = outputs.files.contains { !$0.disableManifest } || outputs.segments.contains { !$0.disableManifest }
            || outputs.images.contains { !$0.disableManifest }
        let imagePrefix = (writer as? TranscodingWriter)?.thumbnails.first?.prefix
        guard wanted, let at = writer.files.first?.target ?? writer.segmentOutputs.first?.playlistTarget ?? imagePrefix else { return nil }
        let (manifest, target) = try write(for: egress, roomID: roomID, results: results, beside: writer.file, at: at)
        let uploads = outputs.files.map(\.upload) + outputs.segments.map(\.upload) + outputs.images.map(\.upload)
        guard let upload = uploads.lazy.compactMap({ $0 }).first else { return target.path }
        let uploader = OutputUploader(upload, partSize: partSize, deadline: uploadDeadline)
        uploader.send(manifest, at: target)
        if let failure = uploader.finish() {
            logger.warning("manifest upload failed; the local copy is kept", metadata: ["error": "\(failure)"])
            return target.path
        }
        return uploader.url(of: target.relative)
    }

    /// Writes the manifest in the directory `file` was made in, or, with no file, at `output`'s.
    /// Whole or not at all: under a temporary name first. Returns the file written (open, as
    /// it is now under its name) and where it is.
    private static func write(for egress: EgressRecord, roomID: String, results: EgressResults, beside file: ConfinedFile?,
                              at output: ConfinedPath) throws -> (file: ConfinedFile, target: ConfinedPath) {
        let files = results.files.map {
            Document.File(filename: $0.filename, location: $0.location, size: $0.size, duration: $0.duration,
                          started_at: $0.startedAt, ended_at: $0.endedAt)
        }
        let segments = results.segments.map {
            Document.Segments(playlist_name: $0.playlistName, live_playlist_name: $0.livePlaylistName, playlist_location: $0.playlistLocation,
                              segment_count: $0.segmentCount, size: $0.size, duration: $0.duration)
        }
        let images = results.images.map {
            Document.Images(filename_prefix: $0.filenamePrefix, image_count: $0.imageCount, started_at: $0.startedAt, ended_at: $0.endedAt)
        }
        let started = files.first?.started_at ?? results.segments.first?.startedAt ?? images.first?.started_at ?? 0
        let ended = files.first?.ended_at ?? results.segments.first?.endedAt ?? images.first?.ended_at ?? 0
        let document = Document(egress_id: egress.id, room_id: roomID, room_name: egress.spec.roomName,
                                started_at: started, ended_at: ended, files: files, segments: segments, images: images)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(document))
        let manifest = try file?.sibling(named: egress.id + ".json") ?? ConfinedFile.create(output.sibling(named: egress.id + ".json"))
        let part = try manifest.sibling(named: egress.id + ".json.part")
        try part.append(bytes)
        try part.rename(over: manifest)
        return (part, manifest.target)
    }
}
