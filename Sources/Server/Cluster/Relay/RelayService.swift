import APIMessages
import APIServices
import Ingest
import Logging
import RPC
import Rooms
import Synchronization

/// `egress.cluster.Relay` on a room's node: streams the room to a node whose egress follows it
/// from elsewhere — its snapshot, then its events and the frames that egress may record, taken
/// from this node's hub as a recording here would take them.
struct RelayService: Egress_Cluster_Relay.ServiceProtocol {
    let hub: RoomHub
    /// This node's id.
    let node: String
    let maxRoomName: Int
    let logger: Logger
    /// Frame bytes held for one stream at most while its reader is slow (about 30 s of 8 Mbit/s
    /// video); past it the stream ends, as the follower could not catch up.
    static let maxBuffered = 32 << 20
    /// Tracks one request may name.
    static let maxTracks = 64

    func follow(request: Egress_Cluster_RelayRequest, response: ResponseWriter<Egress_Cluster_RelayMessage>, context: ServerContext) async throws {
        try NodeService.check(addressedTo: request.toNode, from: request.fromNode, here: node)
        guard !request.room.isEmpty, request.room.utf8.count <= maxRoomName else {
            throw RPCError(.invalidArgument, "a relayed room's name must be 1 to \(maxRoomName) bytes")
        }
        guard request.trackSids.count <= Self.maxTracks else {
            throw RPCError(.invalidArgument, "a relay names at most \(Self.maxTracks) tracks, not \(request.trackSids.count)")
        }
        guard request.participantIdentity.utf8.count <= maxRoomName, request.trackSids.allSatisfy({ $0.utf8.count <= maxRoomName }) else {
            throw RPCError(.invalidArgument, "a relay's participant and track ids are at most \(maxRoomName) bytes")
        }
        let interest: MediaInterest = if !request.participantIdentity.isEmpty {
            .participant(request.participantIdentity)
        } else if !request.trackSids.isEmpty {
            .tracks(Set(request.trackSids))
        } else {
            .all
        }
        let sender = RelaySender(interest: interest, limit: Self.maxBuffered)
        let (subscription, room) = await hub.subscribe(room: request.room, sender)
        defer { subscription.cancel() }
        sender.started(with: room)
        var logger = logger
        logger[metadataKey: "room"] = "\(request.room)"
        logger[metadataKey: "to_node"] = "\(request.fromNode)"
        logger.info("relay opened")
        defer { logger.info("relay closed") }
        try await response.write(RelayMessages.message(room))
        for await item in sender.items {
            switch item {
            case .event(let event):
                try await response.write(RelayMessages.message(event))
            case .frame(let frame):
                try await response.write(RelayMessages.message(frame))
                sender.sent(frame.frame.data.count)
            case .overflow:
                logger.warning("relay fell behind: ended")
                throw RPCError(.resourceExhausted, "the relay of room \(request.room) fell \(Self.maxBuffered >> 20) MiB behind: its follower reads too slowly")
            }
        }
    }
}

/// The relay's subscriber to the hub: hands what the hub delivers (on its thread) to the
/// stream's writer, keeping the frames of tracks the follower may want, up to a byte limit.
final class RelaySender: RoomSubscriber, Sendable {
    enum Item: Sendable {
        case event(RoomEvent)
        case frame(MediaFrame)
        /// The writer fell `limit` bytes behind: nothing follows.
        case overflow
    }

    let items: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation
    private let interest: MediaInterest
    private let limit: Int
    private struct State {
        /// The tracks whose frames go out (with interest `.all`, unused).
        var wanted: Set<String> = []
        /// Until the room's snapshot is in, every frame goes out (the follower drops what it
        /// does not want).
        var started = false
        var buffered = 0
        var ended = false
    }
    private let state = Mutex(State())

    init(interest: MediaInterest, limit: Int) {
        self.interest = interest
        self.limit = limit
        (items, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// The room as it was when the subscription began.
    func started(with room: HubRoom?) {
        let tracks = (room?.participants ?? []).flatMap(\.tracks).filter(interest.includes).map(\.sid)
        state.withLock { state in
            state.wanted.formUnion(tracks)
            state.started = true
        }
    }

    /// The writer sent a frame of `bytes`.
    func sent(_ bytes: Int) {
        state.withLock { $0.buffered -= bytes }
    }

    func handle(_ event: RoomEvent) {
        state.withLock { state in
            switch event {
            case .trackPublished(let track) where interest.includes(track): state.wanted.insert(track.sid)
            case .trackUnpublished(let track): state.wanted.remove(track.sid)
            default: break
            }
        }
        enqueue(.event(event), bytes: 0)
    }

    func handle(_ frame: MediaFrame) {
        let wanted = interest == .all || state.withLock { !$0.started || $0.wanted.contains(frame.trackSID) }
        if wanted { enqueue(.frame(frame), bytes: frame.frame.data.count) }
    }

    private func enqueue(_ item: Item, bytes: Int) {
        let overflowed: Bool? = state.withLock { state in
            guard !state.ended else { return nil }
            state.buffered += bytes
            if state.buffered > limit { state.ended = true }
            return state.ended
        }
        switch overflowed {
        case nil: return
        case true?:
            continuation.yield(.overflow)
            continuation.finish()
        case false?:
            continuation.yield(item)
        }
    }
}
