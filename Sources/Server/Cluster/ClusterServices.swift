import APIClients
import APIMessages
import APIServices
import EgressAPI
import RoomAPI
import RPC
import RPCClient
import SessionManager

/// The public API on a node of a cluster: each call is answered where its room or egress is —
/// here by the node's own service, or on that node through `egress.cluster.Node` — so that any
/// node answers any call. Access control stays in front: a call is handed over only once this
/// node checked the client's token.
enum ClusterCalls {
    /// Options for a call handed to another node: what is left of the client's deadline.
    static func options(_ context: ServerContext) -> CallOptions {
        CallOptions(timeout: context.deadline.map { max(.milliseconds(1), $0 - .now) } ?? .seconds(30))
    }
}

/// `livekit.Egress` in a cluster: an egress starts on its room's node (the room is placed now
/// if it is new) when that node has CPU for it, else on one that has, following the room from
/// there through the relay; StopEgress and UpdateStream reach the egress's node, and ListEgress
/// lists every node's records from Redis.
struct ClusterEgressService: Livekit_Egress.ServiceProtocol {
    let local: EgressService
    let router: ClusterRouter
    let pageSize: Int
    /// What each kind of egress costs, for placing it.
    let costs: CPUCosts

    private func start<Request: Sendable>(_ request: Request, room: String, spec: () throws -> EgressSpec, _ context: ServerContext,
                                          here: () async throws -> Livekit_EgressInfo,
                                          there: (Livekit_EgressClient, Request, CallOptions) async throws -> Livekit_EgressInfo) async throws -> Livekit_EgressInfo {
        // A bad request is refused here, as it would be there, before anything is placed.
        let cost = costs.cost(of: try spec())
        switch try await router.egressNode(room: room, cost: cost) {
        case .here: return try await here()
        case .node(_, let transport): return try await there(Livekit_EgressClient(transport), request, ClusterCalls.options(context))
        }
    }

    func startParticipantEgress(request: Livekit_ParticipantEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await start(request, room: request.roomName, spec: { try local.spec(request) }, context,
                        here: { try await local.startParticipantEgress(request: request, context: context) },
                        there: { try await $0.startParticipantEgress($1, options: $2) })
    }

    func startTrackCompositeEgress(request: Livekit_TrackCompositeEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await start(request, room: request.roomName, spec: { try local.spec(request) }, context,
                        here: { try await local.startTrackCompositeEgress(request: request, context: context) },
                        there: { try await $0.startTrackCompositeEgress($1, options: $2) })
    }

    func startTrackEgress(request: Livekit_TrackEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await start(request, room: request.roomName, spec: { try local.spec(request) }, context,
                        here: { try await local.startTrackEgress(request: request, context: context) },
                        there: { try await $0.startTrackEgress($1, options: $2) })
    }

    func startEgress(request: Livekit_StartEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await start(request, room: request.roomName, spec: { try local.spec(request) }, context,
                        here: { try await local.startEgress(request: request, context: context) },
                        there: { try await $0.startEgress($1, options: $2) })
    }

    func startRoomCompositeEgress(request: Livekit_RoomCompositeEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await local.startRoomCompositeEgress(request: request, context: context)
    }

    func startWebEgress(request: Livekit_WebEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await local.startWebEgress(request: request, context: context)
    }

    func updateLayout(request: Livekit_UpdateLayoutRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        try await local.updateLayout(request: request, context: context)
    }

    func stopEgress(request: Livekit_StopEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        switch request.egressId.isEmpty ? nil : try await router.egress(request.egressId) {
        case .node(_, let transport): try await Livekit_EgressClient(transport).stopEgress(request, options: ClusterCalls.options(context))
        case .here, nil: try await local.stopEgress(request: request, context: context)
        }
    }

    func updateStream(request: Livekit_UpdateStreamRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        switch request.egressId.isEmpty ? nil : try await router.egress(request.egressId) {
        case .node(_, let transport): try await Livekit_EgressClient(transport).updateStream(request, options: ClusterCalls.options(context))
        case .here, nil: try await local.updateStream(request: request, context: context)
        }
    }

    func listEgress(request: Livekit_ListEgressRequest, context: ServerContext) async throws -> Livekit_ListEgressResponse {
        EgressService.response(try await router.list(EgressService.query(request), pageSize: pageSize))
    }

    /// The service, with Start* requests limited as on one node.
    var limitedService: RPCService {
        local.limiting(rpcService)
    }
}

/// `livekit.RoomService` in a cluster: a call about one room is answered by the room's node
/// (CreateRoom places the room), ListRooms by every node together.
struct ClusterRoomService: Livekit_RoomService.ServiceProtocol {
    let local: RoomService
    let router: ClusterRouter

    private func forRoom<Response: Sendable>(_ room: String, placing: Bool = false, _ context: ServerContext,
                                             here: () async throws -> Response,
                                             there: (Livekit_RoomServiceClient, CallOptions) async throws -> Response) async throws -> Response {
        switch try await router.room(room, placing: placing) {
        case .here: try await here()
        case .node(_, let transport): try await there(Livekit_RoomServiceClient(transport), ClusterCalls.options(context))
        }
    }

    func createRoom(request: Livekit_CreateRoomRequest, context: ServerContext) async throws -> Livekit_Room {
        try await forRoom(request.name, placing: true, context,
                          here: { try await router.hosting(request.name) { try await local.createRoom(request: request, context: context) } },
                          there: { try await $0.createRoom(request, options: $1) })
    }

    /// Every node's rooms; UNAVAILABLE if a node does not answer (a list without its rooms
    /// would be wrong).
    func listRooms(request: Livekit_ListRoomsRequest, context: ServerContext) async throws -> Livekit_ListRoomsResponse {
        let targets = try await router.everyNode()
        let options = ClusterCalls.options(context)
        return try await withThrowingTaskGroup(of: [Livekit_Room].self) { group in
            for target in targets {
                group.addTask {
                    switch target {
                    case .here: try await local.listRooms(request: request, context: context).rooms
                    case .node(_, let transport): try await Livekit_RoomServiceClient(transport).listRooms(request, options: options).rooms
                    }
                }
            }
            var response = Livekit_ListRoomsResponse()
            for try await rooms in group { response.rooms += rooms }
            response.rooms.sort { $0.name < $1.name }
            return response
        }
    }

    func deleteRoom(request: Livekit_DeleteRoomRequest, context: ServerContext) async throws -> Livekit_DeleteRoomResponse {
        try await forRoom(request.room, context, here: { try await local.deleteRoom(request: request, context: context) },
                          there: { try await $0.deleteRoom(request, options: $1) })
    }

    func listParticipants(request: Livekit_ListParticipantsRequest, context: ServerContext) async throws -> Livekit_ListParticipantsResponse {
        try await forRoom(request.room, context, here: { try await local.listParticipants(request: request, context: context) },
                          there: { try await $0.listParticipants(request, options: $1) })
    }

    func getParticipant(request: Livekit_RoomParticipantIdentity, context: ServerContext) async throws -> Livekit_ParticipantInfo {
        try await forRoom(request.room, context, here: { try await local.getParticipant(request: request, context: context) },
                          there: { try await $0.getParticipant(request, options: $1) })
    }

    func removeParticipant(request: Livekit_RoomParticipantIdentity, context: ServerContext) async throws -> Livekit_RemoveParticipantResponse {
        try await forRoom(request.room, context, here: { try await local.removeParticipant(request: request, context: context) },
                          there: { try await $0.removeParticipant(request, options: $1) })
    }

    func mutePublishedTrack(request: Livekit_MuteRoomTrackRequest, context: ServerContext) async throws -> Livekit_MuteRoomTrackResponse {
        try await forRoom(request.room, context, here: { try await local.mutePublishedTrack(request: request, context: context) },
                          there: { try await $0.mutePublishedTrack(request, options: $1) })
    }
}

/// `egress.ingest.RoomIngest` in a cluster: a participant joins its room on the room's node
/// (placed now if the room is new), and every later call about it goes there too; the answer
/// names that node's RTP address.
struct ClusterRoomIngestService: Egress_Ingest_RoomIngest.ServiceProtocol {
    let local: RoomIngestService
    let router: ClusterRouter

    private func forRoom<Response: Sendable>(_ room: String, placing: Bool = false, _ context: ServerContext,
                                             here: () async throws -> Response,
                                             there: (Egress_Ingest_RoomIngestClient, CallOptions) async throws -> Response) async throws -> Response {
        switch room.isEmpty ? .here : try await router.room(room, placing: placing) {
        case .here: try await here()
        case .node(_, let transport): try await there(Egress_Ingest_RoomIngestClient(transport), ClusterCalls.options(context))
        }
    }

    func joinRoom(request: Egress_Ingest_JoinRoomRequest, context: ServerContext) async throws -> Egress_Ingest_JoinRoomResponse {
        try await forRoom(request.room, placing: true, context,
                          here: { try await router.hosting(request.room) { try await local.joinRoom(request: request, context: context) } },
                          there: { try await $0.joinRoom(request, options: $1) })
    }

    func publishTrack(request: Egress_Ingest_PublishTrackRequest, context: ServerContext) async throws -> Egress_Ingest_PublishTrackResponse {
        try await forRoom(request.room, context, here: { try await local.publishTrack(request: request, context: context) },
                          there: { try await $0.publishTrack(request, options: $1) })
    }

    func setTrackMuted(request: Egress_Ingest_SetTrackMutedRequest, context: ServerContext) async throws -> Egress_Ingest_SetTrackMutedResponse {
        try await forRoom(request.room, context, here: { try await local.setTrackMuted(request: request, context: context) },
                          there: { try await $0.setTrackMuted(request, options: $1) })
    }

    func unpublishTrack(request: Egress_Ingest_UnpublishTrackRequest, context: ServerContext) async throws -> Egress_Ingest_UnpublishTrackResponse {
        try await forRoom(request.room, context, here: { try await local.unpublishTrack(request: request, context: context) },
                          there: { try await $0.unpublishTrack(request, options: $1) })
    }

    func leaveRoom(request: Egress_Ingest_LeaveRoomRequest, context: ServerContext) async throws -> Egress_Ingest_LeaveRoomResponse {
        try await forRoom(request.room, context, here: { try await local.leaveRoom(request: request, context: context) },
                          there: { try await $0.leaveRoom(request, options: $1) })
    }

    func keepAlive(request: Egress_Ingest_KeepAliveRequest, context: ServerContext) async throws -> Egress_Ingest_KeepAliveResponse {
        try await forRoom(request.room, context, here: { try await local.keepAlive(request: request, context: context) },
                          there: { try await $0.keepAlive(request, options: $1) })
    }

    /// A room's counters come from its node; those of every room, from this node's hub alone.
    func getIngestStats(request: Egress_Ingest_GetIngestStatsRequest, context: ServerContext) async throws -> Egress_Ingest_IngestStats {
        try await forRoom(request.room, context, here: { try await local.getIngestStats(request: request, context: context) },
                          there: { try await $0.getIngestStats(request, options: $1) })
    }
}
