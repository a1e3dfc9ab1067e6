import APIMessages
import APIServices
import Ingest
import Rooms
import RPC

/// `livekit.RoomService`: LiveKit's read and admin calls, answered from the embedded hub.
public struct RoomService: Livekit_RoomService.ServiceProtocol {
    let hub: RoomHub

    public init(hub: RoomHub) {
        self.hub = hub
    }

    public func listRooms(request: Livekit_ListRoomsRequest, context: ServerContext) async throws -> Livekit_ListRoomsResponse {
        var response = Livekit_ListRoomsResponse()
        response.rooms = await hub.listRooms(names: request.names).map(HubMessages.room)
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
