import Logging
import Media
import SessionManager
import Support

extension RecordingBackend {
    /// After a restart: each file an egress was writing when the earlier process died is closed
    /// (its complete packets rewritten into a finished file of its format) and its result made
    /// true again: size, duration, end; each HLS playlist is ended (`recoverSegments`). A file that cannot be closed keeps its old result and is
    /// named in `failedOutputs`; a file meant for storage stays in the output directory.
    public func recover(_ egress: EgressRecord) async -> EgressResults {
        var results = egress.results
        let uploads = egress.spec.outputs.files.contains { $0.upload != nil }
        for (at, file) in results.files.enumerated() {
            do throws(RecorderError) {
                results.files[at] = try Self.close(file, in: configuration.outputDirectory)
                logger.info("recording of an interrupted egress closed", metadata: [
                    "egress_id": "\(egress.id)", "file": "\(results.files[at].location)",
                    "bytes": "\(results.files[at].size)", "duration_ns": "\(results.files[at].duration)",
                ])
                if uploads {
                    results.failedOutputs.append("file \(file.filename): not uploaded (the server restarted); kept at \(results.files[at].location)")
                    results.backupStorageUsed = true
                }
            } catch {
                logger.error("recording of an interrupted egress not closed", metadata: ["egress_id": "\(egress.id)", "error": "\(error)"])
                results.failedOutputs.append("file \(file.filename): \(error)")
            }
        }
        for (at, segments) in results.segments.enumerated() where !segments.playlistName.isEmpty {
            do throws(RecorderError) {
                results.segments[at] = try recoverSegments(segments)
                logger.info("HLS playlist of an interrupted egress ended", metadata: [
                    "egress_id": "\(egress.id)", "playlist": "\(results.segments[at].playlistLocation)",
                    "segments": "\(results.segments[at].segmentCount)",
                ])
                if egress.spec.outputs.segments.contains(where: { $0.upload != nil }) {
                    results.failedOutputs.append("HLS \(segments.playlistName): uploads stopped (the server restarted); kept at "
                        + results.segments[at].playlistLocation)
                    results.backupStorageUsed = true
                }
            } catch {
                logger.error("HLS playlist of an interrupted egress not ended", metadata: ["egress_id": "\(egress.id)", "error": "\(error)"])
                results.failedOutputs.append("HLS \(segments.playlistName): \(error)")
            }
        }
        return results
    }

    private static func close(_ result: FileResult, in outputDirectory: String) throws(RecorderError) -> FileResult {
        guard let type = FileType(extensionOf: result.filename) else {
            throw RecorderError("\(result.filename) is not a container this server writes")
        }
        let target = ConfinedPath(root: outputDirectory, relative: result.filename)
        do {
            try FileFinisher.close(try ConfinedFile.openExisting(target), format: type.rawValue)
            let closed = try ConfinedFile.openExisting(target)
            var result = result
            result.location = target.path
            result.size = closed.size
            result.duration = FileFinisher.duration(of: closed)
            result.endedAt = result.startedAt &+ result.duration
            return result
        } catch {
            throw RecorderError("\(target.path) could not be closed: \(error)")
        }
    }
}
