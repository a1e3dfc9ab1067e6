import APIMessages
import APIServices
import Ingest
import Rooms
import RPC

/// What CreateRoom's `egress` becomes: egresses started for each participant that joins the
/// room, or each track published in it. Checked before the room is made, so that a room is not
/// made with an auto egress that would fail every time.
public protocol RoomEgressRegistry: Sendable {
    /// Throws INVALID_ARGUMENT naming what is wrong with `egress` for `room`.
    func check(_ egress: Livekit_RoomEgress, room: String) throws
    /// From now on, `egress` applies to `room` (until the room closes).
    func register(_ egress: Livekit_RoomEgress, room: String) async
}

/// `livekit.RoomService`: LiveKit's read and admin calls, answered from the embedded hub.
public struct RoomService: Livekit_RoomService.ServiceProtocol {
    let hub: RoomHub
    /// The names of the rooms an egress is recording now (`Room.active_recording`).
    let roomsRecording: @Sendable () -> Set<String>
    let autoEgress: (any RoomEgressRegistry)?

    public init(hub: RoomHub, roomsRecording: @escaping @Sendable () -> Set<String> = { [] }, autoEgress: (any RoomEgressRegistry)? = nil) {
        self.hub = hub
        self.roomsRecording = roomsRecording
        self.autoEgress = autoEgress
    }

    /// Creates the room (or updates an existing one's settings) with LiveKit's CreateRoom
    /// settings; its `egress` starts egresses as participants join and publish.
    public func createRoom(request: Livekit_CreateRoomRequest, context: ServerContext) async throws -> Livekit_Room {
        let name = try required(request.name, "name")
        if let egress = request.egress {
            if egress.room != nil {
                throw RPCError(.invalidArgument, "egress.room (room composite egress) needs a browser this server does not run; use egress.participant or egress.tracks")
            }
            guard let autoEgress else { throw RPCError(.unimplemented, "auto egress is not available on this server") }
            try autoEgress.check(egress, room: name)
        }
        let settings = RoomSettings(emptyTimeout: request.emptyTimeout, departureTimeout: request.departureTimeout,
                                    maxParticipants: request.maxParticipants, metadata: request.metadata)
        let room = try await hubCall { try await hub.createRoom(name, settings: settings) }
        if let egress = request.egress, let autoEgress { await autoEgress.register(egress, room: name) }
        var message = HubMessages.room(room)
        message.activeRecording = roomsRecording().contains(name)
        return message
    }

    public func listRooms(request: Livekit_ListRoomsRequest, context: ServerContext) async throws -> Livekit_ListRoomsResponse {
        var response = Livekit_ListRoomsResponse()
        let recording = roomsRecording()
        response.rooms = await hub.listRooms(names: request.names).map { room in
            var room = room
            room.activeRecording = recording.contains(room.name)
            return HubMessages.room(room)
        }
        return response
    }

    public func deleteRoom(request: Livekit_DeleteRoomRequest, context: ServerContext) async throws -> Livekit_DeleteRoomResponse {
        let room = try required(request.room, "room")
        try await hubCall { try await hub.deleteRoom(room) }
        return Livekit_DeleteRoomResponse()
    }

    public func listParticipants(request: Livekit_ListParticipantsRequest, context: ServerContext) async throws
        -> Livekit_ListParticipantsResponse {
        let name = try required(request.room, "room")
        let room = try await hubCall { try await hub.room(named: name) }
        var response = Livekit_ListParticipantsResponse()
        response.participants = room.participants.map(HubMessages.participant)
        return response
    }

    public func getParticipant(request: Livekit_RoomParticipantIdentity, context: ServerContext) async throws -> Livekit_ParticipantInfo {
        let (room, identity) = (try required(request.room, "room"), try required(request.identity, "identity"))
        return HubMessages.participant(try await hubCall { try await hub.participant(room: room, identity: identity) })
    }

    public func removeParticipant(request: Livekit_RoomParticipantIdentity, context: ServerContext) async throws
        -> Livekit_RemoveParticipantResponse {
        let (room, identity) = (try required(request.room, "room"), try required(request.identity, "identity"))
        try await hubCall { try await hub.remove(room: room, identity: identity) }
        return Livekit_RemoveParticipantResponse()
    }

    public func mutePublishedTrack(request: Livekit_MuteRoomTrackRequest, context: ServerContext) async throws
        -> Livekit_MuteRoomTrackResponse {
        let (room, identity, trackSID) = (try required(request.room, "room"), try required(request.identity, "identity"),
                                          try required(request.trackSid, "track_sid"))
        let track = try await hubCall { try await hub.setMuted(room: room, identity: identity, trackSID: trackSID, muted: request.muted) }
        var response = Livekit_MuteRoomTrackResponse()
        response.track = HubMessages.track(track)
        return response
    }
}
