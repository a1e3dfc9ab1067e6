import APIClients
import APIMessages
import Ingest
import Logging
import RPC
import RPCClient
import Rooms
import RTP
import Support

/// Where a cluster node's recordings follow their rooms: this node's hub for a room it hosts
/// (or one not placed anywhere), else the room's node through `egress.cluster.Relay`, which
/// streams the room's events and frames as the hub there delivers them.
///
/// A relayed frame keeps the capture time the room's node gave it, so the tracks of one room
/// stay in sync with each other whatever the two nodes' clocks say.
final class ClusterMediaSource: MediaSource {
    let hub: RoomHub
    let router: ClusterRouter
    let logger: Logger
    /// What a relayed room may hold (this node's hub's limits).
    let limits: RelayMessages.Limits
    /// How long the room's node has to send the room's snapshot.
    static let snapshotTimeout: Duration = .seconds(10)

    init(hub: RoomHub, router: ClusterRouter, logger: Logger, limits: RelayMessages.Limits) {
        self.hub = hub
        self.router = router
        self.logger = logger
        self.limits = limits
    }

    func subscribe(room: String, _ subscriber: any RoomSubscriber) async throws -> (RoomSubscription, HubRoom?) {
        guard let (node, client) = try await router.roomHostElsewhere(room) else {
            return await hub.subscribe(room: room, subscriber)
        }
        var request = Egress_Cluster_RelayRequest()
        request.room = room
        request.fromNode = router.node
        request.toNode = node
        switch subscriber.receivesMedia ? subscriber.mediaInterest : .tracks([]) {
        case .all: break
        case .participant(let identity): request.participantIdentity = identity
        case .tracks(let sids):
            // None at all: a sid no track has, so that no frame comes.
            request.trackSids = sids.isEmpty ? ["-"] : sids.sorted()
        }
        let options = CallOptions(maxResponseSize: EncodedFrame.maxSize + (64 << 10))
        let stream = try await Egress_Cluster_RelayClient(client).follow(request, options: options)
        let snapshot = Snapshot()
        let follower = RelayFollower(room: room, node: node, subscriber: subscriber, logger: logger, limits: limits)
        let task = Task { await follower.follow(stream, snapshot: snapshot) }
        let first = await snapshot.wait(timeout: Self.snapshotTimeout)
        guard let first else {
            task.cancel()
            throw RPCError(.unavailable, "room \(room)'s node \(node) sent no snapshot of it within \(Self.snapshotTimeout)")
        }
        switch first {
        case .success(let current):
            logger.info("following a room on another node", metadata: ["room": "\(room)", "room_node": "\(node)"])
            return (RoomSubscription { task.cancel() }, current)
        case .failure(let error):
            task.cancel()
            throw error
        }
    }
}

/// The snapshot a relay begins with, handed from its reading task to `subscribe`.
private actor Snapshot {
    private var result: Result<HubRoom?, RPCError>?
    private var waiter: CheckedContinuation<Result<HubRoom?, RPCError>?, Never>?

    func set(_ result: Result<HubRoom?, RPCError>) {
        guard self.result == nil else { return }
        self.result = result
        waiter?.resume(returning: result)
        waiter = nil
    }

    private func timedOut() {
        waiter?.resume(returning: nil)
        waiter = nil
    }

    func wait(timeout: Duration) async -> Result<HubRoom?, RPCError>? {
        if let result { return result }
        let timer = Task { try await Task.sleep(for: timeout); self.timedOut() }
        defer { timer.cancel() }
        return await withCheckedContinuation { waiter = $0 }
    }
}

/// Reads one relay: the snapshot, then each event and frame to the subscriber, in order. What the
/// room's node sends is checked as anything from the network is: within the hub's limits (so
/// many participants, so many tracks each), about the room followed, and no faster than a room
/// makes events; a relay that breaks them ends. When the relay ends without being cancelled (the
/// room's node lost, the relay fell behind or broke the rules), the room is gone for this
/// subscriber: its participants leave, then the room is deleted.
private struct RelayFollower: Sendable {
    let room: String
    let node: String
    let subscriber: any RoomSubscriber
    let logger: Logger
    let limits: RelayMessages.Limits
    /// Events a relay may send at once, and per second after that.
    static let eventBurst = 10_000.0, eventsPerSecond = 1_000.0

    func follow(_ stream: TypedResponseStream<Egress_Cluster_RelayMessage>, snapshot: Snapshot) async {
        var participants: [String: HubParticipant] = [:]
        var tracks: [String: Set<String>] = [:]
        var started = false
        var budget = (tokens: Self.eventBurst, at: MonotonicClock.nanoseconds())
        var reason = "the room's node \(node) ended the relay"
        do {
            for try await message in stream {
                let item = try RelayMessages.item(message, limits: limits)
                switch item {
                case .room(let current) where !started:
                    guard current.map({ $0.name == room }) ?? true else { throw RelayMessages.Invalid("the relay sent another room's snapshot") }
                    started = true
                    for participant in current?.participants ?? [] {
                        participants[participant.identity] = participant
                        tracks[participant.identity] = Set(participant.tracks.map(\.sid))
                    }
                    await snapshot.set(.success(current))
                case .event(let event) where started:
                    let now = MonotonicClock.nanoseconds()
                    budget.tokens = min(Self.eventBurst, budget.tokens + Double(now - budget.at) / 1e9 * Self.eventsPerSecond) - 1
                    budget.at = now
                    guard budget.tokens >= 0 else { throw RelayMessages.Invalid("the room's node sent events faster than a room makes them") }
                    try note(event, participants: &participants, tracks: &tracks)
                    subscriber.handle(event)
                case .frame(let frame) where started:
                    if subscriber.receivesMedia { subscriber.handle(frame) }
                default:
                    throw RelayMessages.Invalid("the relay's messages are out of order")
                }
            }
        } catch let error as RPCError {
            reason = "the relay from room \(room)'s node \(node) failed: \(error.message)"
        } catch {
            reason = "the relay from room \(room)'s node \(node) failed: \(error)"
        }
        if Task.isCancelled { return }
        guard started else {
            return await snapshot.set(.failure(RPCError(.unavailable, reason)))
        }
        logger.warning("relay ended", metadata: ["room": "\(room)", "room_node": "\(node)", "reason": "\(reason)"])
        for participant in participants.values.sorted(by: { $0.joinedAt < $1.joinedAt }) {
            subscriber.handle(.participantLeft(participant, reason: reason))
        }
        subscriber.handle(.roomDeleted(room))
    }

    /// Follows the room's participants and tracks through `event`, refusing what the hub would not
    /// have done.
    private func note(_ event: RoomEvent, participants: inout [String: HubParticipant], tracks: inout [String: Set<String>]) throws(RelayMessages.Invalid) {
        switch event {
        case .participantJoined(let joined):
            guard participants[joined.identity] != nil || participants.count < limits.maxParticipants else {
                throw RelayMessages.Invalid("the relayed room has more than \(limits.maxParticipants) participants")
            }
            participants[joined.identity] = joined
            tracks[joined.identity, default: []].formUnion(joined.tracks.map(\.sid))
        case .trackPublished(let track), .trackMuteChanged(let track):
            guard track.room == room else { throw RelayMessages.Invalid("the relay sent a track of room \(track.room)") }
            guard participants[track.participantIdentity] != nil else {
                throw RelayMessages.Invalid("the relay sent a track of \(track.participantIdentity), who is not in the room")
            }
            tracks[track.participantIdentity, default: []].insert(track.sid)
            guard tracks[track.participantIdentity, default: []].count <= limits.maxTracksPerParticipant else {
                throw RelayMessages.Invalid("a relayed participant has more than \(limits.maxTracksPerParticipant) tracks")
            }
        case .trackUnpublished(let track):
            tracks[track.participantIdentity]?.remove(track.sid)
        case .participantLeft(let left, _):
            participants[left.identity] = nil
            tracks[left.identity] = nil
        case .roomDeleted(let name):
            guard name == room else { throw RelayMessages.Invalid("the relay deleted another room, \(name)") }
        }
    }
}
