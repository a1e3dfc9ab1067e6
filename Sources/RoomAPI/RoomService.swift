import APIMessages
import APIServices
import Ingest
import Rooms
import RPC

/// `livekit.RoomService`: LiveKit's read and admin calls, answered from the embedded hub.
public struct RoomService: Livekit_RoomService.ServiceProtocol {
    let hub: RoomHub
    /// The names of the rooms an egress is recording now (`Room.active_recording`).
    let roomsRecording: @Sendable () -> Set<String>

    public init(hub: RoomHub, roomsRecording: @escaping @Sendable () -> Set<String> = { [] }) {
        self.hub = hub
        self.roomsRecording = roomsRecording
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
