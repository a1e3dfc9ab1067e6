import Logging
import NIOCore
import Rooms
import RTP
import Support
import WebRTC

/// The embedded room hub: rooms → participants → tracks, fed by RTP over one UDP port.
///
/// All of its state lives on one event loop (its own `HubEventLoop`, apart from the RPC loops):
/// packets are handled there without locks, and calls from RPC handlers hop onto it.
public final class RoomHub: MediaSource, @unchecked Sendable {
    public let loop: HubEventLoop
    let configuration: RoomHubConfiguration
    let logger: Logger

    // Loop-confined state.
    var rooms: [String: HubRoom] = [:]
    var receivers: [UInt32: TrackReceiver] = [:]
    /// Monotonic ns of each participant's last call (keyed by room, identity).
    var lastCall: [ParticipantKey: Int64] = [:]
    var subscribers: [String: [ObjectIdentifier: any RoomSubscriber]] = [:]
    /// Per participant, one offset per sender clock: the local wall clock minus the sender's,
    /// learned from the first frame timed by a sender report. Tracks on one clock are moved by
    /// the same amount, so their relative timing (A/V sync) stays the sender's while their
    /// times stay close to ours — also when the sender's clock is far off, or its reports start
    /// after its media; a track on another clock (another sender, seconds off) gets its own.
    var senderClockOffsets: [ParticipantKey: [Int64]] = [:]
    var unknownSSRCPackets = 0
    var malformedPackets = 0
    var oversizePackets = 0
    private var maintenance: RepeatedTask?
    /// Transport-wide congestion control feedback, every 100 ms while WHIP sessions exist
    /// (no timer wakes the loop otherwise).
    var feedbackTimer: RepeatedTask?
    /// WHIP sessions: by id, by local ICE username (STUN finds them so), by verified address
    /// (DTLS and SRTP find them so).
    var webRTCSessions: [String: WebRTCPublisher] = [:]
    var webRTCByUsername: [String: WebRTCPublisher] = [:]
    var webRTCByAddress: [SourceAddress: WebRTCPublisher] = [:]
    /// The DTLS context every WHIP session is made from (made when the UDP port is bound).
    var dtlsContext: DTLSContext?
    /// Writes a datagram on the UDP port (set when it is bound).
    var outbound: ((_ datagram: [UInt8], _ to: SourceAddress) -> Void)?
    /// STUN messages that were not a valid check of any session.
    var stunIgnored = 0
    /// DTLS records from addresses no session verified.
    var unroutedSecured = 0
    /// Plain RTP dropped because `--rtp-ingest off`, or sent to a WebRTC track's SSRC.
    var plainRTPRefused = 0
    /// SRTP rejected by sessions since closed.
    var closedSessionsRejected = 0
    /// The SSRC the hub's RTCP to plain RTP senders comes from.
    let plainFeedbackSSRC = UInt32.random(in: 1...UInt32.max)
    /// Half-second ticks, for what is done every second.
    private var ticks = 0
    /// Where publishers send RTP, once the ingest port is bound.
    var rtpAddress: (host: String, port: Int) = ("127.0.0.1", 0)

    struct ParticipantKey: Hashable {
        var room: String
        var identity: String
    }

    public init(loop: HubEventLoop, configuration: RoomHubConfiguration = .init(), logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: Lifecycle

    /// Starts the periodic work: participant timeouts.
    func startMaintenance(rtpHost: String, rtpPort: Int) {
        loop.execute {
            self.rtpAddress = (rtpHost, rtpPort)
            self.maintenance = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { _ in
                self.expireSilentParticipants()
                self.closeEmptyRooms()
                self.maintainWebRTCSessions()
                self.ticks += 1
                if self.ticks % 2 == 0 { self.sendPlainReports() }
            }
        }
    }

    func stopMaintenance() {
        loop.execute {
            self.maintenance?.cancel()
            self.feedbackTimer?.cancel()
        }
    }

    /// Whether a flush of the jitter buffers is scheduled.
    private var flushScheduled = false

    /// Releases, a little later, packets that wait behind a gap (a timer runs only while some do).
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.scheduleTask(in: .milliseconds(20)) {
            self.flushScheduled = false
            let now = MonotonicClock.nanoseconds()
            for receiver in self.receivers.values where receiver.hasPending {
                self.deliver(self.localized(receiver.flush(now: now), of: receiver), room: receiver.track.room)
                self.sendFeedback(for: receiver, now: now)
                if receiver.hasPending { self.scheduleFlush() }
            }
        }
    }

    private func expireSilentParticipants() {
        let now = MonotonicClock.nanoseconds()
        let timeout = configuration.participantTimeout.nanoseconds
        for room in rooms.values {
            for participant in room.participants {
                let key = ParticipantKey(room: room.name, identity: participant.identity)
                var last = lastCall[key] ?? now
                for track in participant.tracks {
                    if let receiver = receivers[track.ssrc] { last = max(last, receiver.lastPacketAt) }
                }
                if now - last > timeout {
                    logger.info("participant timed out", metadata: ["room": "\(room.name)", "participant": "\(participant.identity)"])
                    try? removeParticipant(room: room.name, identity: participant.identity, reason: "participant timed out")
                }
            }
        }
    }

    func onLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await loop.submit(work).get()
    }

    // MARK: Publishing (the RoomIngest API)

    public func join(room: String, identity: String, name: String, kind: Int32, metadata: String) async throws -> (HubParticipant, HubRoom) {
        try validate(room: room, identity: identity, name: name, metadata: metadata)
        return try await onLoop { try self.addParticipant(room: room, identity: identity, name: name, kind: kind, metadata: metadata) }
    }

    /// Adds a participant to a room (made if new); on the loop.
    func addParticipant(room: String, identity: String, name: String, kind: Int32, metadata: String) throws -> (HubParticipant, HubRoom) {
        var current: HubRoom
        if let existing = rooms[room] {
            current = existing
        } else {
            guard rooms.count < configuration.maxRooms else {
                throw HubError.invalidArgument("the hub already has \(configuration.maxRooms) rooms")
            }
            current = HubRoom(sid: RandomID.make(prefix: "RM_"), name: room, createdAt: WallClock.nanoseconds(), participants: [])
        }
        guard !current.participants.contains(where: { $0.identity == identity }) else {
            throw HubError.alreadyExists("participant \(identity) is already in room \(room)")
        }
        let limit = min(configuration.maxParticipantsPerRoom, current.settings.map { Int($0.maxParticipants) }.flatMap { $0 > 0 ? $0 : nil } ?? .max)
        guard current.participants.count < limit else {
            throw HubError.roomFull("room \(room) is full (\(limit) participants)")
        }
        let participant = HubParticipant(sid: RandomID.make(prefix: "PA_"), identity: identity, name: name, kind: kind,
                                         metadata: metadata, joinedAt: WallClock.nanoseconds(), state: .joined, tracks: [])
        current.participants.append(participant)
        current.emptySince = nil
        current.settings?.hadParticipants = true
        rooms[room] = current
        lastCall[ParticipantKey(room: room, identity: identity)] = MonotonicClock.nanoseconds()
        logger.info("participant joined", metadata: ["room": "\(room)", "participant": "\(identity)"])
        emit(.participantJoined(participant), room: room)
        return (participant, current)
    }

    public func publish(_ request: PublishRequest) async throws -> (HubTrack, host: String, port: Int) {
        guard configuration.plainRTP else {
            throw HubError.unavailable("plain RTP ingest is off on this server (--rtp-ingest off); publish over WebRTC (WHIP)")
        }
        guard (request.kind == .video) == request.codec.isVideo else {
            throw HubError.invalidArgument("codec \(request.codec.rawValue) does not fit a track of type \(request.kind)")
        }
        let fits: Bool = switch request.source {
        case .camera, .screenShare: request.kind == .video
        case .microphone, .screenShareAudio: request.kind == .audio
        case .unknown: true
        }
        guard fits else { throw HubError.invalidArgument("source \(request.source) does not fit a track of type \(request.kind)") }
        guard (96...127).contains(request.payloadType) else {
            throw HubError.invalidArgument("payload_type \(request.payloadType) is not a dynamic RTP payload type (96-127)")
        }
        let clockRate = request.clockRate == 0 ? request.codec.defaultClockRate : Int(request.clockRate)
        guard (8000...192_000).contains(clockRate) else { throw HubError.invalidArgument("clock_rate \(clockRate) is out of range") }
        return try await onLoop {
            let track = try self.addTrack(request, clockRate: clockRate, webRTCSession: nil)
            return (track, self.rtpAddress.host, self.rtpAddress.port)
        }
    }

    /// Adds a checked track to its participant, with a receiver for its SSRC; on the loop.
    /// A WebRTC session's track takes packets only through that session's SRTP.
    func addTrack(_ request: PublishRequest, clockRate: Int, webRTCSession: String?) throws -> HubTrack {
        let (room, index) = try locate(room: request.room, identity: request.identity)
        var participant = rooms[room]!.participants[index]
        guard participant.tracks.count < configuration.maxTracksPerParticipant else {
            throw HubError.invalidArgument("participant \(request.identity) already publishes \(participant.tracks.count) tracks")
        }
        let ssrc = request.ssrc != 0 ? request.ssrc : unusedSSRC()
        guard receivers[ssrc] == nil else {
            // Not whose: the answer must not tell one publisher about another's tracks.
            throw HubError.alreadyExists("the ssrc is not available on this hub; leave ssrc 0 and the hub chooses one")
        }
        let track = HubTrack(sid: RandomID.make(prefix: "TR_"), room: room, roomSID: rooms[room]!.sid,
                             participantIdentity: participant.identity,
                             participantSID: participant.sid, participantKind: participant.kind, name: request.name, kind: request.kind, source: request.source,
                             codec: request.codec, payloadType: UInt8(request.payloadType), clockRate: clockRate,
                             ssrc: ssrc, stereo: request.stereo, muted: false)
        participant.tracks.append(track)
        participant.state = .active
        rooms[room]!.participants[index] = participant
        receivers[track.ssrc] = TrackReceiver(track: track, source: request.sender, webRTCSession: webRTCSession,
                                              maxJitterDelay: configuration.maxJitterDelay.nanoseconds)
        touch(room: room, identity: participant.identity)
        logger.info("track published", metadata: [
            "room": "\(room)", "participant": "\(participant.identity)", "track": "\(track.sid)",
            "codec": "\(track.codec.rawValue)", "ssrc": "\(track.ssrc)",
            "sender": "\(webRTCSession.map { "WebRTC \($0)" } ?? request.sender.map { "\($0)" } ?? "first packet")",
        ])
        emit(.trackPublished(track), room: room)
        return track
    }

    public func setMuted(room: String, identity: String, trackSID: String, muted: Bool) async throws -> HubTrack {
        try await onLoop {
            var track = try self.locateTrack(room: room, identity: identity, sid: trackSID)
            self.touch(room: room, identity: identity)
            guard track.muted != muted else { return track }
            track.muted = muted
            self.replace(track)
            self.emit(.trackMuteChanged(track), room: room)
            return track
        }
    }

    public func unpublish(room: String, identity: String, trackSID: String) async throws {
        try await onLoop {
            let track = try self.locateTrack(room: room, identity: identity, sid: trackSID)
            self.touch(room: room, identity: identity)
            let (_, index) = try self.locate(room: room, identity: identity)
            self.rooms[room]!.participants[index].tracks.removeAll { $0.sid == trackSID }
            self.receivers[track.ssrc] = nil
            self.emit(.trackUnpublished(track), room: room)
        }
    }

    public func leave(room: String, identity: String) async throws {
        try await onLoop { try self.removeParticipant(room: room, identity: identity, reason: "participant left") }
    }

    public func keepAlive(room: String, identity: String) async throws {
        try await onLoop {
            _ = try self.locate(room: room, identity: identity)
            self.touch(room: room, identity: identity)
        }
    }

    // MARK: Reading and administration (livekit.RoomService)

    public func listRooms(names: [String]) async -> [HubRoom] {
        (try? await onLoop {
            let all = self.rooms.values.sorted { $0.createdAt < $1.createdAt }
            return names.isEmpty ? all : all.filter { names.contains($0.name) }
        }) ?? []
    }

    public func room(named name: String) async throws -> HubRoom {
        try await onLoop {
            guard let room = self.rooms[name] else { throw HubError.notFound("room \(name) not found") }
            return room
        }
    }

    public func participant(room: String, identity: String) async throws -> HubParticipant {
        try await onLoop {
            let (room, index) = try self.locate(room: room, identity: identity)
            return self.rooms[room]!.participants[index]
        }
    }

    /// Removes a participant as LiveKit's RemoveParticipant does: it is gone, its tracks end.
    public func remove(room: String, identity: String) async throws {
        try await onLoop { try self.removeParticipant(room: room, identity: identity, reason: "participant removed") }
    }

    /// Deletes a room: every participant leaves and every subscriber (egress) of it ends.
    public func deleteRoom(_ name: String) async throws {
        try await onLoop {
            guard let room = self.rooms[name] else { throw HubError.notFound("room \(name) not found") }
            for participant in room.participants {
                try? self.removeParticipant(room: name, identity: participant.identity, reason: "room deleted")
            }
            self.rooms[name] = nil
            self.emit(.roomDeleted(name), room: name)
        }
    }

    // MARK: MediaSource

    public func subscribe(room: String, _ subscriber: any RoomSubscriber) async -> (RoomSubscription, HubRoom?) {
        let key = ObjectIdentifier(subscriber)
        let current = try? await onLoop {
            self.subscribers[room, default: [:]][key] = subscriber
            // A recording starts with a key frame: WebRTC senders are asked for one now.
            if subscriber.receivesMedia { self.requestKeyFrames(room: room) }
            return self.rooms[room]
        }
        let subscription = RoomSubscription { [weak self] in
            guard let self else { return }
            self.loop.execute {
                self.subscribers[room]?[key] = nil
                if self.subscribers[room]?.isEmpty == true { self.subscribers[room] = nil }
            }
        }
        return (subscription, current ?? nil)
    }

    public func track(sid: String) async -> HubTrack? {
        try? await onLoop { self.receivers.values.first { $0.track.sid == sid }?.track }
    }

    // MARK: Helpers (on the loop)

    func emit(_ event: RoomEvent, room: String) {
        for subscriber in subscribers[room]?.values ?? [:].values { subscriber.handle(event) }
    }

    /// Notes that `identity` was heard from now (on the hub's loop).
    func touch(room: String, identity: String) {
        lastCall[ParticipantKey(room: room, identity: identity)] = MonotonicClock.nanoseconds()
    }

    func locate(room: String, identity: String) throws -> (String, Int) {
        guard let current = rooms[room] else { throw HubError.notFound("room \(room) not found") }
        guard let index = current.participants.firstIndex(where: { $0.identity == identity }) else {
            throw HubError.notFound("participant \(identity) not found in room \(room)")
        }
        return (room, index)
    }

    private func locateTrack(room: String, identity: String, sid: String) throws -> HubTrack {
        let (room, index) = try locate(room: room, identity: identity)
        guard let track = rooms[room]!.participants[index].tracks.first(where: { $0.sid == sid }) else {
            throw HubError.notFound("track \(sid) not found")
        }
        return track
    }

    func replace(_ track: HubTrack) {
        guard let index = rooms[track.room]?.participants.firstIndex(where: { $0.identity == track.participantIdentity }),
              let at = rooms[track.room]!.participants[index].tracks.firstIndex(where: { $0.sid == track.sid }) else { return }
        rooms[track.room]!.participants[index].tracks[at] = track
        receivers[track.ssrc]?.update(track)
    }

    func removeParticipant(room: String, identity: String, reason: String) throws {
        let (room, index) = try locate(room: room, identity: identity)
        var participant = rooms[room]!.participants.remove(at: index)
        for track in participant.tracks {
            receivers[track.ssrc] = nil
            emit(.trackUnpublished(track), room: room)
        }
        participant.state = .disconnected
        closeWebRTCSession(room: room, identity: identity, reason: reason)
        lastCall[ParticipantKey(room: room, identity: identity)] = nil
        senderClockOffsets[ParticipantKey(room: room, identity: identity)] = nil
        if rooms[room]!.participants.isEmpty {
            // A room made by a join goes with its last participant; a created one waits its departure timeout.
            if rooms[room]!.settings == nil { rooms[room] = nil } else { rooms[room]!.emptySince = WallClock.nanoseconds() }
        }
        logger.info("participant left", metadata: ["room": "\(room)", "participant": "\(identity)", "reason": "\(reason)"])
        emit(.participantLeft(participant, reason: reason), room: room)
    }
}
