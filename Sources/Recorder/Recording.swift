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
    let reporter: EgressReporter
    let source: any MediaSource
    let configuration: RecorderConfiguration
    let logger: Logger
    let selection: TrackSelection
    let onEnded: @Sendable () -> Void
    let queue: InputQueue<Input>
    /// Read by the hub's thread for each frame.
    let intake = Mutex(Intake())
    let subscription = Mutex<RoomSubscription?>(nil)

    // State of the recording thread (internal for its extensions; touched by that thread alone).
    var videoTrack: HubTrack?
    /// The audio tracks recorded (mixed when there are several), each with its channel.
    var audioTracks: [(track: HubTrack, channel: TrackSelection.Channel)] = []
    var participantPresent = false
    var origin: (capture: Int64, monotonic: Int64, wallClock: Int64)?
    var writer: (any MediaWriter)?
    /// Frames that came before the file was opened, while waiting to see which tracks there are.
    var early: [MediaFrame] = []
    var roomID = ""
    var visibility = VideoVisibility()
    /// Frames dropped for being timed more than `maxLead` ahead of now, or before the start.
    var framesOutOfTime = 0
    static let maxLead: Int64 = 5_000_000_000
    let createdAt = MonotonicClock.nanoseconds()
    var lastProgress: Int64 = 0
    /// The live streams to open with the outputs (then the writer has them): the request's,
    /// with the ids the store gave them, changed by UpdateStream.
    var pendingStreams: [StreamResult]
    /// The session limits that apply to this egress's outputs.
    let limits: SessionLimits.Applying
    /// How long the end waits for the uploads of outputs sent as they are written.
    let uploadDeadline = UploadDeadline()
    /// Failed outputs already logged and reported.
    var failuresReported = 0
    var done = false

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

    func write(_ media: MediaFrame) throws {
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

    var showsVideo: Bool { videoTrack.map { !$0.muted } ?? false }

    /// Notes, at the current media position, whether the video is shown now.
    func noteVisibility() {
        guard let origin else { return }
        visibility.note(showsVideo, at: MonotonicClock.nanoseconds() - origin.monotonic)
    }
}
