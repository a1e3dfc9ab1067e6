import APIMessages
import EgressAPI
import Ingest
import Logging
import RoomAPI
import Rooms
import RPC
import Synchronization

/// CreateRoom's `egress`, as LiveKit runs it: with `participant`, a Participant egress for every
/// participant that joins the room (its preset or advanced options, its file and segment
/// outputs); with `tracks`, a Track egress for every track published in it (`filepath` and its
/// upload). Each room's rule lasts until the room closes.
final class AutoEgress: RoomEgressRegistry {
    private let hub: RoomHub
    private let egress: EgressService
    private let logger: Logger
    private let rooms = Mutex<[String: (rule: RoomRule, subscription: RoomSubscription)]>([:])

    init(hub: RoomHub, egress: EgressService, logger: Logger) {
        self.hub = hub
        self.egress = egress
        self.logger = logger
    }

    func check(_ rule: Livekit_RoomEgress, room: String) throws {
        if let participant = rule.participant {
            do { try egress.check(Self.participantRequest(participant, room: room, identity: "participant")) } catch let error as RPCError {
                throw RPCError(error.code, "egress.participant: \(error.message)")
            }
        }
        if let tracks = rule.tracks {
            do { try egress.check(Self.trackRequest(tracks, room: room, trackID: "TR_track")) } catch let error as RPCError {
                throw RPCError(error.code, "egress.tracks: \(error.message)")
            }
        }
    }

    func register(_ rule: Livekit_RoomEgress, room: String) async {
        let subscriber = RoomRule(room: room, rule: rule, owner: self)
        let (subscription, _) = await hub.subscribe(room: room, subscriber)
        let replaced = rooms.withLock { rooms in
            defer { rooms[room] = (subscriber, subscription) }
            return rooms[room]?.subscription
        }
        replaced?.cancel()
        logger.info("auto egress set", metadata: ["room": "\(room)", "participant": "\(rule.participant != nil)", "tracks": "\(rule.tracks != nil)"])
    }

    fileprivate func unregister(_ rule: RoomRule) {
        let removed = rooms.withLock { rooms -> RoomSubscription? in
            guard let entry = rooms[rule.room], entry.rule === rule else { return nil }
            rooms[rule.room] = nil
            return entry.subscription
        }
        removed?.cancel()
    }

    fileprivate func start(_ what: String, room: String, _ start: @escaping @Sendable () async throws -> Livekit_EgressInfo) {
        Task { [logger] in
            do {
                let info = try await start()
                logger.info("auto egress started", metadata: ["room": "\(room)", "for": "\(what)", "egress_id": "\(info.egressId)"])
            } catch {
                logger.error("auto egress refused", metadata: ["room": "\(room)", "for": "\(what)", "error": "\(error)"])
            }
        }
    }

    static func participantRequest(_ rule: Livekit_AutoParticipantEgress, room: String, identity: String) -> Livekit_ParticipantEgressRequest {
        var request = Livekit_ParticipantEgressRequest()
        request.roomName = room
        request.identity = identity
        request.fileOutputs = rule.fileOutputs
        request.segmentOutputs = rule.segmentOutputs
        switch rule.options {
        case .preset(let preset): request.options = .preset(preset)
        case .advanced(let advanced): request.options = .advanced(advanced)
        case nil: break
        }
        return request
    }

    static func trackRequest(_ rule: Livekit_AutoTrackEgress, room: String, trackID: String) -> Livekit_TrackEgressRequest {
        var file = Livekit_DirectFileOutput()
        file.filepath = rule.filepath
        file.disableManifest = rule.disableManifest
        switch rule.output {
        case .s3(let s3): file.output = .s3(s3)
        case .gcp(let gcp): file.output = .gcp(gcp)
        case .azure(let azure): file.output = .azure(azure)
        case .aliOSS(let oss): file.output = .aliOSS(oss)
        case nil: break
        }
        var request = Livekit_TrackEgressRequest()
        request.roomName = room
        request.trackId = trackID
        request.output = .file(file)
        return request
    }
}

/// One room's auto egress: a subscriber of the room's events (no media) that starts egresses.
private final class RoomRule: RoomSubscriber {
    let room: String
    let rule: Livekit_RoomEgress
    private unowned let owner: AutoEgress

    init(room: String, rule: Livekit_RoomEgress, owner: AutoEgress) {
        self.room = room
        self.rule = rule
        self.owner = owner
    }

    var receivesMedia: Bool { false }

    func handle(_ frame: MediaFrame) {}

    func handle(_ event: RoomEvent) {
        switch event {
        case .participantJoined(let participant):
            // An egress's own participant is not recorded (LiveKit's EGRESS kind).
            guard let auto = rule.participant, participant.kind != 2 else { return }
            let request = AutoEgress.participantRequest(auto, room: room, identity: participant.identity)
            owner.start("participant \(participant.identity)", room: room) { [owner] in try await owner.startParticipant(request) }
        case .trackPublished(let track):
            guard let auto = rule.tracks else { return }
            let request = AutoEgress.trackRequest(auto, room: room, trackID: track.sid)
            owner.start("track \(track.sid)", room: room) { [owner] in try await owner.startTrack(request) }
        case .roomDeleted:
            owner.unregister(self)
        default:
            return
        }
    }
}

extension AutoEgress {
    fileprivate func startParticipant(_ request: Livekit_ParticipantEgressRequest) async throws -> Livekit_EgressInfo { try await egress.start(request) }
    fileprivate func startTrack(_ request: Livekit_TrackEgressRequest) async throws -> Livekit_EgressInfo { try await egress.start(request) }
}
