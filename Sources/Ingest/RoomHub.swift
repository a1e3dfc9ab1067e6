import Logging
import NIOCore
import Rooms
import RTP
import Support

/// The embedded room hub: rooms → participants → tracks, fed by RTP over one UDP port.
///
/// All of its state lives on one event loop (its own, apart from the RPC loops): packets are
/// handled there without locks, and calls from RPC handlers hop onto it.
public final class RoomHub: MediaSource, @unchecked Sendable {
    public let loop: any EventLoop
    let configuration: RoomHubConfiguration
    let logger: Logger

    // Loop-confined state.
    private var rooms: [String: HubRoom] = [:]
    var receivers: [UInt32: TrackReceiver] = [:]
    /// Monotonic ns of each participant's last call (keyed by room, identity).
    private var lastCall: [ParticipantKey: Int64] = [:]
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
    /// Where publishers send RTP, once the ingest port is bound.
    private var rtpAddress: (host: String, port: Int) = ("127.0.0.1", 0)

    struct ParticipantKey: Hashable {
        var room: String
        var identity: String
    }

    public init(loop: any EventLoop, configuration: RoomHubConfiguration = .init(), logger: Logger) {
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
            }
        }
    }

    func stopMaintenance() {
        loop.execute { self.maintenance?.cancel() }
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

    private func onLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await loop.submit(work).get()
    }

    // MARK: Publishing (the RoomIngest API)

    public func join(room: String, identity: String, name: String, kind: Int32, metadata: String) async throws -> (HubParticipant, HubRoom) {
        guard !room.isEmpty else { throw HubError.invalidArgument("room is required") }
        guard !identity.isEmpty else { throw HubError.invalidArgument("identity is required") }
        let limit = configuration.maxNameLength
        for (field, value) in [("room", room), ("identity", identity), ("name", name)] where value.utf8.count > limit {
            throw HubError.invalidArgument("\(field) is \(value.utf8.count) bytes long; at most \(limit) are allowed")
        }
        guard metadata.utf8.count <= configuration.maxMetadataLength else {
            throw HubError.invalidArgument("metadata is \(metadata.utf8.count) bytes long; at most \(configuration.maxMetadataLength) are allowed")
        }
        return try await onLoop {
            var current: HubRoom
            if let existing = self.rooms[room] {
                current = existing
            } else {
                guard self.rooms.count < self.configuration.maxRooms else {
                    throw HubError.invalidArgument("the hub already has \(self.configuration.maxRooms) rooms")
                }
                current = HubRoom(sid: RandomID.make(prefix: "RM_"), name: room, createdAt: WallClock.nanoseconds(), participants: [])
            }
            guard !current.participants.contains(where: { $0.identity == identity }) else {
                throw HubError.alreadyExists("participant \(identity) is already in room \(room)")
            }
            guard current.participants.count < self.configuration.maxParticipantsPerRoom else {
                throw HubError.invalidArgument("room \(room) is full (\(self.configuration.maxParticipantsPerRoom) participants)")
            }
            let participant = HubParticipant(sid: RandomID.make(prefix: "PA_"), identity: identity, name: name, kind: kind,
                                             metadata: metadata, joinedAt: WallClock.nanoseconds(), state: .joined, tracks: [])
            current.participants.append(participant)
            self.rooms[room] = current
            self.lastCall[ParticipantKey(room: room, identity: identity)] = MonotonicClock.nanoseconds()
            self.logger.info("participant joined", metadata: ["room": "\(room)", "participant": "\(identity)"])
            self.emit(.participantJoined(participant), room: room)
            return (participant, current)
        }
    }

    public func publish(_ request: PublishRequest) async throws -> (HubTrack, host: String, port: Int) {
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
            let (room, index) = try self.locate(room: request.room, identity: request.identity)
            var participant = self.rooms[room]!.participants[index]
            guard participant.tracks.count < self.configuration.maxTracksPerParticipant else {
                throw HubError.invalidArgument("participant \(request.identity) already publishes \(participant.tracks.count) tracks")
            }
            let ssrc = request.ssrc != 0 ? request.ssrc : self.unusedSSRC()
            guard self.receivers[ssrc] == nil else {
                // Not whose: the answer must not tell one publisher about another's tracks.
                throw HubError.alreadyExists("the ssrc is not available on this hub; leave ssrc 0 and the hub chooses one")
            }
            let track = HubTrack(sid: RandomID.make(prefix: "TR_"), room: room, roomSID: self.rooms[room]!.sid,
                                 participantIdentity: participant.identity,
                                 participantSID: participant.sid, participantKind: participant.kind, name: request.name, kind: request.kind, source: request.source,
                                 codec: request.codec, payloadType: UInt8(request.payloadType), clockRate: clockRate,
                                 ssrc: ssrc, stereo: request.stereo, muted: false)
            participant.tracks.append(track)
            participant.state = .active
            self.rooms[room]!.participants[index] = participant
            self.receivers[track.ssrc] = TrackReceiver(track: track, source: request.sender,
                                                       maxJitterDelay: self.configuration.maxJitterDelay.nanoseconds)
            self.touch(room: room, identity: participant.identity)
            self.logger.info("track published", metadata: [
                "room": "\(room)", "participant": "\(participant.identity)", "track": "\(track.sid)",
                "codec": "\(track.codec.rawValue)", "ssrc": "\(track.ssrc)", "sender": "\(request.sender.map { "\($0)" } ?? "first packet")",
            ])
            self.emit(.trackPublished(track), room: room)
            return (track, self.rtpAddress.host, self.rtpAddress.port)
        }
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

    public func statistics() async -> HubStatistics {
        (try? await onLoop {
            let tracks = self.receivers.values.map { receiver in
                let stats = receiver.statistics
                return HubStatistics.Track(
                    sid: receiver.track.sid, room: receiver.track.room, identity: receiver.track.participantIdentity,
                    packetsReceived: stats.received, packetsLost: stats.lost, packetsLate: stats.late,
                    packetsReordered: stats.reordered, packetsDuplicate: stats.duplicates,
                    packetsWrongPayloadType: receiver.wrongPayloadType, frames: receiver.frames, bytes: receiver.bytes,
                    packetsWrongSource: receiver.packetsWrongSource, packetsOutOfRange: stats.outOfRange,
                    sequenceRestarts: stats.restarts, framesOutOfTime: receiver.framesOutOfTime)
            }
            return HubStatistics(tracks: tracks.sorted { $0.sid < $1.sid }, unknownSSRCPackets: self.unknownSSRCPackets,
                                 malformedPackets: self.malformedPackets, oversizePackets: self.oversizePackets)
        }) ?? HubStatistics(tracks: [], unknownSSRCPackets: 0, malformedPackets: 0, oversizePackets: 0)
    }

    // MARK: MediaSource

    public func subscribe(room: String, _ subscriber: any RoomSubscriber) async -> (RoomSubscription, HubRoom?) {
        let key = ObjectIdentifier(subscriber)
        let current = try? await onLoop {
            self.subscribers[room, default: [:]][key] = subscriber
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

    private func locate(room: String, identity: String) throws -> (String, Int) {
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

    private func replace(_ track: HubTrack) {
        guard let index = rooms[track.room]?.participants.firstIndex(where: { $0.identity == track.participantIdentity }),
              let at = rooms[track.room]!.participants[index].tracks.firstIndex(where: { $0.sid == track.sid }) else { return }
        rooms[track.room]!.participants[index].tracks[at] = track
        receivers[track.ssrc]?.update(track)
    }

    private func removeParticipant(room: String, identity: String, reason: String) throws {
        let (room, index) = try locate(room: room, identity: identity)
        var participant = rooms[room]!.participants.remove(at: index)
        for track in participant.tracks {
            receivers[track.ssrc] = nil
            emit(.trackUnpublished(track), room: room)
        }
        participant.state = .disconnected
        lastCall[ParticipantKey(room: room, identity: identity)] = nil
        senderClockOffsets[ParticipantKey(room: room, identity: identity)] = nil
        if rooms[room]!.participants.isEmpty { rooms[room] = nil }
        logger.info("participant left", metadata: ["room": "\(room)", "participant": "\(identity)", "reason": "\(reason)"])
        emit(.participantLeft(participant, reason: reason), room: room)
    }
}
