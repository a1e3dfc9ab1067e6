import Foundation
import Rooms
import SessionManager
import Storage
import Support

/// How a recording starts its clock and its file, and how it ends: finalized (COMPLETE, or
/// LIMIT_REACHED), or failed, its file closed either way. On the recording thread.
extension Recording {
    /// The first frame: the recording's clock starts (ACTIVE).
    func startClock(at capture: Int64) {
        let wallClock = WallClock.nanoseconds()
        origin = (capture, MonotonicClock.nanoseconds(), wallClock)
        intake.withLock { $0.mediaStarted = true }
        visibility.note(showsVideo, at: 0)
        reporter.report(.mediaStarted(at: wallClock))
    }

    /// How long after the first frame the file is opened even if not every wanted track is there.
    static let openGrace: Int64 = 1_000_000_000

    /// Opens the file once the tracks it will hold are known (what the container and its
    /// streams are depends on them), or after `openGrace`; then writes the frames held so far.
    func openFileIfReady(force: Bool) throws {
        guard writer == nil, let origin else { return }
        let waited = MonotonicClock.nanoseconds() - origin.monotonic
        guard force || selection.isComplete(video: videoTrack, hasAudio: !audioTracks.isEmpty) || waited >= Self.openGrace else { return }
        try openFile()
        let held = early
        early = []
        for media in held { try write(media) }
    }

    func openFile() throws {
        let tracks = WriterFactory.Tracks(video: videoTrack, audio: audioTracks.map(\.track), participant: selection.participant,
                                          roomID: roomID)
        let made = try WriterFactory(spec: egress.spec, configuration: configuration)
            .make(for: tracks, streams: pendingStreams, wallClockOrigin: origin?.wallClock ?? WallClock.nanoseconds(),
                  uploadDeadline: uploadDeadline)
        pendingStreams = []
        writer = made.writer
        logger.info("recording started", metadata: made.logged.mapValues { .string($0) })
        // Stored with the record from now on: a restart after a crash finds and closes them.
        reporter.report(.progress(results()))
    }

    /// The source went away: ENDING, then the file is closed.
    func end(_ reason: String) {
        logger.info("egress ending", metadata: ["reason": "\(reason)"])
        reporter.report(.sourceEnded(reason: reason))
        finalize()
    }

    /// Closes the outputs and reports them: COMPLETE, or LIMIT_REACHED when `limit` says which.
    func finalize(limit: String? = nil) {
        guard !done else { return }
        done = true
        if let limit { reporter.report(.sourceEnded(reason: "\(limit) was reached")) }
        do {
            try closeFile(atLimit: limit != nil)
            var results = results()
            let outputs = egress.spec.outputs
            if let writer {
                let partSize = configuration.uploadPartSize
                FileUpload.uploadFiles(of: outputs, from: writer, results: &results, partSize: partSize, logger: logger)
                results.manifestLocation = try Manifest.writeIfWanted(for: egress, roomID: roomID, results: results, writer: writer,
                                                                      partSize: partSize, uploadDeadline: uploadDeadline, logger: logger) ?? ""
            }
            logger.info("egress finalized", metadata: [
                "bytes": "\(writer?.bytesWritten ?? 0)", "frames_dropped": "\(queue.dropped)", "frames_out_of_time": "\(framesOutOfTime)",
            ])
            reporter.report(limit == nil ? .finalized(results) : .limitReached(results))
        } catch {
            fail(error)
        }
    }

    func fail(_ error: any Error, code: Int32? = nil) {
        // The receiver closed its end (a WebSocket server): the egress ends, it did not fail.
        if let closed = error as? OutputClosed { return end(closed.reason) }
        // Every output failed: "unavailable", as LiveKit's egress says when its last output goes.
        let code = code ?? (error as? RecorderError)?.code ?? (error is AllOutputsFailed ? 503 : 500)
        done = true
        try? closeFile()
        logger.error("egress failed", metadata: ["error": "\(error)"])
        reporter.report(.failed(error: "\(error)", code: code, details: "", results: results()))
    }

    /// Closes the outputs with media up to now, or only up to what is written when `atLimit`.
    func closeFile(atLimit: Bool = false) throws {
        if origin != nil, writer == nil { try openFileIfReady(force: true) }
        guard let writer, let origin else { return }
        let end = atLimit ? writer.duration : MonotonicClock.nanoseconds() - origin.monotonic
        try writer.finish(at: end, visibility: visibility)
    }

    func results() -> EgressResults {
        guard let writer, let origin else { return EgressResults() }
        return writer.results(startedAt: origin.wallClock)
    }
}
