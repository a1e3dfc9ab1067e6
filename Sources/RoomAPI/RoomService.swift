import Protobuf
import RoomHub
import RPC

/// `livekit.RoomService`: LiveKit's read and admin calls, answered from the embedded hub.
public enum RoomService {
    public static func make(hub: RoomHub) -> RPCService {
        RPCService("livekit.RoomService", handlers: [
            "ListRooms": .unary { request in
                let rooms = await hub.listRooms(names: request.message.strings("names"))
                var response = ProtoMessage("livekit.ListRoomsResponse")
                response.set("rooms", rooms.map(HubMessages.room))
                return ServerResponse(response)
            },
            "DeleteRoom": .unary { request in
                let room = try required(request.message, "room")
                try await hubCall { try await hub.deleteRoom(room) }
                return ServerResponse(ProtoMessage("livekit.DeleteRoomResponse"))
            },
            "ListParticipants": .unary { request in
                let name = try required(request.message, "room")
                let room = try await hubCall { try await hub.room(named: name) }
                var response = ProtoMessage("livekit.ListParticipantsResponse")
                response.set("participants", room.participants.map(HubMessages.participant))
                return ServerResponse(response)
            },
            "GetParticipant": .unary { request in
                let (room, identity) = (try required(request.message, "room"), try required(request.message, "identity"))
                let participant = try await hubCall { try await hub.participant(room: room, identity: identity) }
                return ServerResponse(HubMessages.participant(participant))
            },
            "RemoveParticipant": .unary { request in
                let (room, identity) = (try required(request.message, "room"), try required(request.message, "identity"))
                try await hubCall { try await hub.remove(room: room, identity: identity) }
                return ServerResponse(ProtoMessage("livekit.RemoveParticipantResponse"))
            },
            "MutePublishedTrack": .unary { request in
                let message = request.message
                let track = try await hubCall {
                    try await hub.setMuted(room: try required(message, "room"), identity: try required(message, "identity"),
                                           trackSID: try required(message, "track_sid"), muted: message.bool("muted"))
                }
                var response = ProtoMessage("livekit.MuteRoomTrackResponse")
                response.set("track", HubMessages.track(track))
                return ServerResponse(response)
            },
        ])
    }
}
