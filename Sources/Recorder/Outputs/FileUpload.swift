import Logging
import SessionManager
import Storage
import Support

/// A finished file sent to its S3 bucket. On success its result's `location` is the object's
/// URL and the local copy is removed (as LiveKit's egress does); on failure the local copy is
/// kept, the result keeps its local location, `backup_storage_used` is set and the details
/// say why.
enum FileUpload {
    /// Each finished file of `writer` to its bucket, if its output has one (the outputs, the
    /// writer's files and the results are all in the request's order).
    static func uploadFiles(of outputs: Outputs, from writer: any MediaWriter, results: inout EgressResults, partSize: Int64, logger: Logger) {
        for (index, (output, written)) in zip(outputs.files, writer.files).enumerated() where index < results.files.count {
            guard let upload = output.upload else { continue }
            results.files[index] = FileUpload.upload(results.files[index], from: written.target, file: written.file, to: upload,
                                                     partSize: partSize, results: &results, logger: logger)
        }
    }

    static func upload(_ result: FileResult, from target: ConfinedPath, file: ConfinedFile?, to upload: S3Upload, partSize: Int64,
                       results: inout EgressResults, logger: Logger) -> FileResult {
        var result = result
        var client = S3Client(upload)
        client.partSize = partSize
        client.multipartThreshold = partSize
        do {
            result.location = try client.put(file: target.path, as: target.relative, contentType: contentType(of: target.relative))
            file?.remove()
            logger.info("file uploaded", metadata: ["location": "\(result.location)", "bytes": "\(result.size)"])
        } catch {
            results.backupStorageUsed = true
            results.failedOutputs.append("upload of \(target.relative) to s3 bucket \(upload.bucket): \(error); the file is kept at \(target.path)")
            logger.warning("upload failed; the local file is kept", metadata: ["file": "\(target.path)", "error": "\(error)"])
        }
        return result
    }

    static func contentType(of name: String) -> String {
        switch FileType(extensionOf: name) {
        case .mp4?: "video/mp4"
        case .ogg?: "audio/ogg"
        case .mp3?: "audio/mpeg"
        case .webm?: "video/webm"
        case nil: "application/octet-stream"
        }
    }
}
