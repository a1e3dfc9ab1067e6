import Foundation
import SessionManager
import Storage
import Support

/// Sends the files an output writes as it goes (HLS segments and playlists, thumbnails) to its
/// S3 bucket, in the order they were written, on a thread of its own: the recording thread
/// never waits on the network. A file written again while its upload waits (a playlist) goes
/// up once, as it is by then.
///
/// The local copies stay until the end, so that the output is whole in one place at least: if
/// every upload succeeded they are removed (as LiveKit's egress removes them), otherwise kept,
/// playable, and `backup_storage_used` says so. After a failure nothing more is sent.
final class OutputUploader: @unchecked Sendable {
    /// Files that may wait for their upload; past this the bucket is too slow for the
    /// recording, and uploading stops (the local copies are kept).
    static let maxPending = 64
    /// Seconds one file's request may take (each of its tries).
    static let requestTimeout = 30
    /// How long the end of a recording waits for what is still queued; past it, the uploads are
    /// given up (a silent or trickling endpoint) and the local copies kept.
    static let finishTimeout: Double = 30

    private struct Job {
        var file: ConfinedFile
        let key: String
        let contentType: String
    }

    let upload: S3Upload
    private let client: S3Client
    /// When waiting for the uploads ends, shared by every uploader of one egress.
    private let deadline: UploadDeadline
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var sending = false
    private var closed = false
    private var started = false
    private var failure: String?
    /// The names sent, for removing the local copies: per directory, a file in it (held open,
    /// so that it is that directory even if a name on the way has changed) and the names.
    private var sent: [String: (anchor: ConfinedFile, names: [String])] = [:]
    private var sentKeys = Set<String>()

    init(_ upload: S3Upload, partSize: Int64, deadline: UploadDeadline) {
        self.upload = upload
        self.deadline = deadline
        var client = S3Client(upload)
        client.partSize = partSize
        client.multipartThreshold = partSize
        client.requestTimeout = Self.requestTimeout
        self.client = client
    }

    /// The URL `key` has in the bucket.
    func url(of key: String) -> String { client.url(of: key) }

    /// Queues `file` (written whole: a new file, or one renamed into place), which is at
    /// `target`, to go up as its relative path. Never waits.
    func send(_ file: ConfinedFile, at target: ConfinedPath) {
        let key = target.relative
        let contentType = Self.contentType(of: key)
        condition.lock()
        defer { condition.unlock() }
        guard failure == nil, !closed else { return }
        if let waiting = pending.firstIndex(where: { $0.key == key }) {
            pending[waiting].file = file
            return
        }
        guard pending.count < Self.maxPending else {
            failure = "more than \(Self.maxPending) files waited for their upload: the bucket is slower than the recording"
            pending.removeAll()
            return
        }
        pending.append(Job(file: file, key: key, contentType: contentType))
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "upload \(upload.bucket)"
            thread.start()
        }
        condition.signal()
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty, !closed { condition.wait() }
            guard !pending.isEmpty else { break }
            let job = pending.removeFirst()
            sending = true
            condition.unlock()
            var error: (any Error)?
            do {
                // The file as it is now under its name: the descriptor reopens exactly the file written.
                _ = try client.put(file: job.file.openablePath, as: job.key, contentType: job.contentType)
            } catch let failed {
                error = failed
            }
            condition.lock()
            sending = false
            if let error {
                failure = "uploading \(job.key) to s3 bucket \(upload.bucket): \(error)"
                pending.removeAll()
            } else if sentKeys.insert(job.key).inserted {
                let directory = PathText.directory(of: job.key)
                sent[directory, default: (job.file, [])].names.append(PathText.lastComponent(of: job.key))
            }
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Waits until everything queued is up or an upload failed, until the egress's deadline
    /// (`finishTimeout` after the first of its uploaders began to wait). Nil when all went up,
    /// and then the local copies are removed; else why not (and they are kept).
    func finish() -> String? {
        let deadline = deadline.begin(Self.finishTimeout)
        condition.lock()
        closed = true
        condition.broadcast()
        while !pending.isEmpty || sending {
            guard condition.wait(until: deadline) else {
                // What is left is given up; a request still running ends on its own timeout.
                if failure == nil {
                    failure = "uploading to s3 bucket \(upload.bucket): \(pending.count + (sending ? 1 : 0)) files were still not up "
                        + "\(Int(Self.finishTimeout)) s after the recording ended"
                }
                pending.removeAll()
                break
            }
        }
        let failure = self.failure
        let sent = self.sent
        condition.unlock()
        if failure == nil {
            for (anchor, names) in sent.values {
                for name in names { anchor.removeSibling(named: name) }
            }
        }
        return failure
    }

    /// The content type of a file an output writes, by its extension.
    static func contentType(of name: String) -> String {
        let lower = name.lowercased()
        if lower.hasSuffix(".ts") { return "video/mp2t" }
        if lower.hasSuffix(".m3u8") { return "application/x-mpegurl" }
        if lower.hasSuffix(".jpeg") || lower.hasSuffix(".jpg") { return "image/jpeg" }
        if lower.hasSuffix(".json") { return "application/json" }
        return FileUpload.contentType(of: name)
    }
}

/// How long the end of one egress waits for its uploads, all of them together: the clock starts
/// when the first uploader begins to wait, and the others wait until the same moment.
final class UploadDeadline: @unchecked Sendable {
    private let lock = NSLock()
    private var deadline: Date?

    /// The deadline: `seconds` from now the first time, the same one after.
    func begin(_ seconds: Double) -> Date {
        lock.lock()
        defer { lock.unlock() }
        if let deadline { return deadline }
        let deadline = Date(timeIntervalSinceNow: seconds)
        self.deadline = deadline
        return deadline
    }
}
