import Foundation
import Logging
import Rooms
import RTP
import SessionManager
import Storage
import Support
import Synchronization

/// One egress at work: follows its room's events, picks its tracks, and writes their frames on
/// a thread of its own, so that encoding never runs on the hub's or the RPC server's threads.
///
/// The recording's clock starts with its first frame: a frame's position is its capture time
/// (sender's clock, from RTCP sender reports) minus the first frame's, and the file is written
/// up to "now minus `recordingDelay`", so late packets still land in place.
final class Recording: RoomSubscriber, @unchecked Sendable {
    let egress: EgressRecord
    private let reporter: EgressReporter
    private let source: any MediaSource
    private let configuration: RecorderConfiguration
    private let logger: Logger
    private let selection: TrackSelection
    private let onEnded: @Sendable () -> Void
    private let queue: InputQueue<Input>
    /// Read by the hub's thread for each frame.
    private let intake = Mutex(Intake())
    private let subscription = Mutex<RoomSubscription?>(nil)

    // State of the recording thread.
    private var videoTrack: HubTrack?
    /// The audio tracks recorded (mixed when there are several), each with its channel.
    private var audioTracks: [(track: HubTrack, channel: TrackSelection.Channel)] = []
    private var participantPresent = false
    private var origin: (capture: Int64, monotonic: Int64, wallClock: Int64)?
    private var writer: (any MediaWriter)?
    /// Frames that came before the file was opened, while waiting to see which tracks there are.
    private var early: [MediaFrame] = []
    private var roomID = ""
    private var visibility = VideoVisibility()
    /// Frames dropped for being timed more than `maxLead` ahead of now, or before the start.
    private var framesOutOfTime = 0
    private static let maxLead: Int64 = 5_000_000_000
    private let createdAt = MonotonicClock.nanoseconds()
    private var lastProgress: Int64 = 0
    /// The live streams to open with the outputs (then the writer has them): the request's,
    /// with the ids the store gave them, changed by UpdateStream.
    private var pendingStreams: [StreamResult]
    /// The session limits that apply to this egress's outputs.
    private let limits: SessionLimits.Applying
    /// How long the end waits for the uploads of outputs sent as they are written.
    private let uploadDeadline = UploadDeadline()
    /// Failed outputs already logged and reported.
    private var failuresReported = 0
    private var done = false

    init(egress: EgressRecord, source: any MediaSource, reporter: EgressReporter, configuration: RecorderConfiguration,
         logger: Logger, onEnded: @escaping @Sendable () -> Void) {
        self.egress = egress
        self.source = source
        self.reporter = reporter
        self.configuration = configuration
        self.onEnded = onEnded
        selection = TrackSelection(egress.spec.source)
        pendingStreams = egress.results.streams
        limits = configuration.limits.applying(to: egress.spec.outputs)
        queue = InputQueue(capacity: configuration.queueCapacity)
        var logger = logger
        logger[metadataKey: "egress_id"] = "\(egress.id)"
        logger[metadataKey: "room"] = "\(egress.spec.roomName)"
        self.logger = logger
    }

    // MARK: Control (any thread)

    /// Subscribes to the room, checks the tracks the request names are in it, and starts the
    /// recording thread.
    func begin() async {
        let subscription: RoomSubscription, room: HubRoom?
        do {
            (subscription, room) = try await source.subscribe(room: egress.spec.roomName, self)
        } catch {
            logger.warning("egress failed: the room cannot be followed", metadata: ["error": "\(error)"])
            reporter.report(.failed(error: "room \(egress.spec.roomName) cannot be followed: \(error)", code: 503, details: "", results: EgressResults()))
            onEnded()
            return
        }
        let published = Set(room?.participants.flatMap { $0.tracks.map(\.sid) } ?? [])
        if let missing = selection.requiredTrackIDs.first(where: { !published.contains($0) }) {
            subscription.cancel()
            logger.info("egress failed: track not found", metadata: ["track": "\(missing)"])
            reporter.report(.failed(error: "track \(missing) not found", code: 404, details: "", results: EgressResults()))
            onEnded()
            return
        }
        self.subscription.withLock { $0 = subscription }
        queue.push(.room(room), urgent: true)
        let thread = Thread { [self] in run() }
        thread.name = "egress \(egress.id)"
        thread.start()
    }

    func requestStop() {
        queue.push(.stop, urgent: true)
    }

    func updateStreams(add: [StreamResult], remove: [String]) {
        queue.push(.updateStreams(add: add, remove: remove), urgent: true)
    }

    // MARK: RoomSubscriber (the hub's thread)

    func handle(_ event: RoomEvent) {
        queue.push(.event(event), urgent: true)
    }

    var mediaInterest: MediaInterest { selection.mediaInterest }

    func handle(_ frame: MediaFrame) {
        let (isWanted, first) = intake.withLock { ($0.wanted.contains(frame.trackSID), !$0.mediaStarted) }
        guard isWanted else { return }
        queue.push(.frame(frame), urgent: false, wakes: first)
    }

    // MARK: The recording thread

    private func run() {
        while !done {
            // Inputs are taken in batches: every 20 ms while transcoding (which paces the
            // constant-rate output), 50 ms for a remux; before media, until something comes.
            let interval = origin == nil ? waitBeforeMedia() : (writer is PassthroughWriter ? 0.05 : 0.02)
            for input in queue.take(within: interval) where !done { process(input) }
            if !done { tick(MonotonicClock.nanoseconds()) }
        }
        subscription.withLock { $0?.cancel() }
        onEnded()
    }

    /// Before media: until the participant's join deadline, if awaited, at most a second.
    private func waitBeforeMedia() -> Double {
        guard selection.participant != nil, !participantPresent else { return 1 }
        let left = createdAt + configuration.participantWaitTimeout.nanoseconds - MonotonicClock.nanoseconds()
        return min(1, max(0.001, Double(left) / 1e9 + 0.001))
    }

    private func process(_ input: Input) {
        do {
            switch input {
            case .room(let room):
                for participant in room?.participants ?? [] {
                    if participant.identity == selection.participant { participantPresent = true }
                    for track in participant.tracks { consider(track) }
                }
            case .event(let event):
                try apply(event)
            case .frame(let frame):
                try record(frame)
            case .updateStreams(let add, let remove):
                try applyStreamUpdate(add: add, remove: remove)
            case .stop:
                finalize()
            }
        } catch {
            fail(error)
        }
    }

    private func apply(_ event: RoomEvent) throws {
        switch event {
        case .participantJoined(let participant):
            if participant.identity == selection.participant { participantPresent = true }
        case .trackPublished(let track):
            consider(track)
        case .trackMuteChanged(let track):
            if videoTrack?.sid == track.sid { videoTrack = track }
            if let at = audioTracks.firstIndex(where: { $0.track.sid == track.sid }) {
                audioTracks[at].track = track
                try writer?.muteChanged(track.muted)
            }
            noteVisibility()
        case .trackUnpublished(let track):
            if videoTrack?.sid == track.sid { videoTrack = nil }
            if audioTracks.contains(where: { $0.track.sid == track.sid }) {
                audioTracks.removeAll { $0.track.sid == track.sid }
                writer?.removeAudio(track: track.sid)
            }
            updateWanted()
            noteVisibility()
            if selection.isByTrackID, videoTrack == nil, audioTracks.isEmpty { end("track \(track.sid) ended") }
        case .participantLeft(let participant, let reason):
            if participant.identity == selection.participant { end(reason) }
        case .roomDeleted:
            end("room deleted")
        }
    }

    private func applyStreamUpdate(add: [StreamResult], remove: [String]) throws {
        guard let writer = writer as? TranscodingWriter else {
            pendingStreams.removeAll { remove.contains($0.url) }
            pendingStreams += add
            return
        }
        for url in remove where writer.removeStream(url: url) {
            logger.info("stream removed", metadata: ["url": "\(StreamKey.redacted(url))"])
        }
        for stream in add {
            try writer.add(stream, overWebSocket: egress.spec.outputs.stream?.streamProtocol == .websocket, policy: configuration.streamRetry)
            logger.info("stream added", metadata: ["url": "\(StreamKey.redacted(stream.url))"])
        }
        writer.trimStreams(keeping: StreamOutput.maxResults)
        lastProgress = 0
        if !writer.hasOutputs { end("All streams stopped") }
    }

    /// Takes `track` into the recording if the egress wants it and its slot is free.
    private func consider(_ track: HubTrack) {
        switch selection.slot(for: track) {
        case .video? where videoTrack == nil:
            videoTrack = track
            (writer as? TranscodingWriter)?.resetVideoDecoder()
            noteVisibility()
        case .audio(let channel)? where !audioTracks.contains(where: { $0.track.sid == track.sid }):
            audioTracks.append((track, channel))
        default:
            return
        }
        logger.info("recording track", metadata: ["track": "\(track.sid)", "source": "\(track.source)"])
        updateWanted()
        if roomID.isEmpty {
            roomID = track.roomSID
            reporter.report(.roomIdentified(roomID))
        }
    }

    private func updateWanted() {
        let ids = Set([videoTrack?.sid].compactMap { $0 } + audioTracks.map(\.track.sid))
        intake.withLock { $0.wanted = ids }
    }

    private func record(_ media: MediaFrame) throws {
        let isVideo = media.trackSID == videoTrack?.sid
        let audio = audioTracks.first { $0.track.sid == media.trackSID }
        guard isVideo || audio != nil else { return }
        if audio?.track.muted == true { return }  // a muted microphone is silence
        if origin == nil { startClock(at: media.captureTime) }
        guard writer != nil else {
            early.append(media)
            try openFileIfReady(force: false)
            return
        }
        try write(media)
    }

    private func write(_ media: MediaFrame) throws {
        guard let origin, let writer else { return }
        let position = media.captureTime &- origin.capture
        // A frame timed far ahead of now (a sender's clock jumping) would make the writer hold
        // everything until then, one timed far before the start has no place: either is dropped
        // and counted instead. (The hub keeps capture times within an hour of its clock, so the
        // difference cannot wrap.)
        guard position > -Self.maxLead, position < MonotonicClock.nanoseconds() - origin.monotonic + Self.maxLead else {
            if framesOutOfTime == 0 { logger.warning("frame timed far in the future dropped", metadata: ["track": "\(media.trackSID)"]) }
            framesOutOfTime += 1
            return
        }
        if let videoTrack, media.trackSID == videoTrack.sid {
            if videoTrack.muted {
                try writer.mutedVideo(media.frame, codec: media.codec, at: position)
            } else {
                try writer.video(media.frame, codec: media.codec, at: position)
            }
        } else if let audio = audioTracks.first(where: { $0.track.sid == media.trackSID }) {
            try writer.audio(media.frame, track: audio.track.sid, channel: audio.channel, at: position)
        }
    }

    private func tick(_ now: Int64) {
        if origin != nil, writer == nil {
            do { try openFileIfReady(force: false) } catch { return fail(error) }
        }
        guard let origin, let writer else {
            if let identity = selection.participant, !participantPresent,
               now - createdAt > configuration.participantWaitTimeout.nanoseconds {
                fail(RecorderError("participant \(identity) not found"), code: 404)
            }
            return
        }
        do {
            let watermark = now - origin.monotonic - configuration.recordingDelay.nanoseconds
            try writer.advance(to: watermark, visibility: visibility)
            visibility.prune(before: watermark)
            let failures = writer.failedOutputs
            if failures.count > failuresReported {
                for failure in failures[failuresReported...] {
                    logger.warning("output failed; the others go on", metadata: ["output": "\(failure.label)", "error": "\(failure.error)"])
                }
                failuresReported = failures.count
                lastProgress = 0
            }
            if let reached = limits.reached(duration: writer.duration, fileSize: { writer.files.map { $0.file?.size ?? 0 }.max() ?? 0 }) {
                logger.info("session limit reached", metadata: ["limit": "\(reached)"])
                return finalize(limit: reached)
            }
            if now - lastProgress > 2_000_000_000 {
                lastProgress = now
                reporter.report(.progress(results()))
            }
        } catch {
            fail(error)
        }
    }

    private var showsVideo: Bool { videoTrack.map { !$0.muted } ?? false }

    /// Notes, at the current media position, whether the video is shown now.
    private func noteVisibility() {
        guard let origin else { return }
        visibility.note(showsVideo, at: MonotonicClock.nanoseconds() - origin.monotonic)
    }

    // MARK: Starting and ending

    /// The first frame: the recording's clock starts (ACTIVE).
    private func startClock(at capture: Int64) {
        let wallClock = WallClock.nanoseconds()
        origin = (capture, MonotonicClock.nanoseconds(), wallClock)
        intake.withLock { $0.mediaStarted = true }
        visibility.note(showsVideo, at: 0)
        reporter.report(.mediaStarted(at: wallClock))
    }

    /// How long after the first frame the file is opened even if not every wanted track is there.
    private static let openGrace: Int64 = 1_000_000_000

    /// Opens the file once the tracks it will hold are known (what the container and its
    /// streams are depends on them), or after `openGrace`; then writes the frames held so far.
    private func openFileIfReady(force: Bool) throws {
        guard writer == nil, let origin else { return }
        let waited = MonotonicClock.nanoseconds() - origin.monotonic
        guard force || selection.isComplete(video: videoTrack, hasAudio: !audioTracks.isEmpty) || waited >= Self.openGrace else { return }
        try openFile()
        let held = early
        early = []
        for media in held { try write(media) }
    }

    private func openFile() throws {
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
    private func end(_ reason: String) {
        logger.info("egress ending", metadata: ["reason": "\(reason)"])
        reporter.report(.sourceEnded(reason: reason))
        finalize()
    }

    /// Closes the outputs and reports them: COMPLETE, or LIMIT_REACHED when `limit` says which.
    private func finalize(limit: String? = nil) {
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

    private func fail(_ error: any Error, code: Int32? = nil) {
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
    private func closeFile(atLimit: Bool = false) throws {
        if origin != nil, writer == nil { try openFileIfReady(force: true) }
        guard let writer, let origin else { return }
        let end = atLimit ? writer.duration : MonotonicClock.nanoseconds() - origin.monotonic
        try writer.finish(at: end, visibility: visibility)
    }

    private func results() -> EgressResults {
        guard let writer, let origin else { return EgressResults() }
        return writer.results(startedAt: origin.wallClock)
    }
}
