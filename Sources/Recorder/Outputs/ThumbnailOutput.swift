import Media
import SessionManager
import Support

/// Thumbnails (`image_outputs`): a JPEG of the recording's picture every `capture_interval`
/// seconds of media, from its start, at the requested size (the recording's when 0). Named
/// `<prefix>_00000.jpeg`, `_00001.jpeg` … (INDEX), by the time of the picture (TIMESTAMP), or
/// one `<prefix>.jpeg` replaced each time (NONE_OVERWRITE). Each file is written whole under a
/// temporary name and renamed, so a reader never finds half a picture.
final class ThumbnailOutput {
    private let output: ImageOutput
    let prefix: ConfinedPath
    /// Unix nanoseconds of media position 0.
    private let wallClockOrigin: Int64
    private let encoder: JPEGEncoder
    /// Media position (ns) of the next capture.
    private var nextCapture: Int64 = 0
    private var count: Int64 = 0
    private var firstAt: Int64 = 0
    private var lastAt: Int64 = 0
    /// Sends each image to the output's bucket once written, if it has one.
    private let uploader: OutputUploader?
    /// Why the upload failed, once finished (the local copies are kept then).
    private(set) var uploadFailure: String?

    init(output: ImageOutput, prefix: ConfinedPath, width: Int32, height: Int32, wallClockOrigin: Int64, uploader: OutputUploader?) throws {
        self.uploader = uploader
        self.output = output
        self.prefix = prefix
        self.wallClockOrigin = wallClockOrigin
        encoder = try JPEGEncoder(width: output.width > 0 ? output.width : width, height: output.height > 0 ? output.height : height)
    }

    var label: String { "images \(prefix.path)" }

    /// The picture shown at media position `position` (ns): captured if a capture is due.
    func offer(_ picture: Frame, at position: Int64) throws {
        guard position >= nextCapture else { return }
        // Both at most an hour's worth of nanoseconds apart from real positions: no overflow.
        nextCapture = position + Int64(max(1, output.captureInterval)) * 1_000_000_000
        let jpeg = try encoder.encode(picture)
        let takenAt = wallClockOrigin &+ position
        let target = target(index: count, takenAt: takenAt)
        let written = try ConfinedFile.replace(target, with: jpeg)
        OutputMetrics.wrote(jpeg.count, to: .images)
        uploader?.send(written, at: target)
        if count == 0 { firstAt = takenAt }
        lastAt = takenAt
        count += 1
    }

    private func target(index: Int64, takenAt: Int64) -> ConfinedPath {
        let name = PathText.lastComponent(of: prefix.relative)
        let suffix: String = switch output.suffix {
        case .index: "_" + String(format: "%05lld", index)
        case .timestamp: "_" + SegmentedOutput.timestamp(takenAt)
        case .noneOverwrite: ""
        }
        return prefix.sibling(named: name + suffix + ".jpeg")
    }

    /// Waits for the images' uploads to end (at the end of the recording).
    func finishUploads() {
        if let uploader, uploadFailure == nil { uploadFailure = uploader.finish() }
    }

    /// What was captured, for `image_results`.
    func result() -> ImagesResult {
        var result = ImagesResult(filenamePrefix: prefix.relative)
        result.imageCount = count
        result.startedAt = firstAt
        result.endedAt = lastAt
        return result
    }
}
