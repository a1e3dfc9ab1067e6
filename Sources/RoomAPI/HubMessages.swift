import Protobuf
import RoomHub
import RPC

/// The hub's rooms, participants and tracks as LiveKit's `Room`, `ParticipantInfo` and `TrackInfo`.
enum HubMessages {
    static func room(_ room: HubRoom) -> ProtoMessage {
        var message = ProtoMessage("livekit.Room")
        message.set("sid", room.sid)
        message.set("name", room.name)
        message.set("creation_time", room.createdAt / 1_000_000_000)
        message.set("creation_time_ms", room.createdAt / 1_000_000)
        message.set("num_participants", UInt32(room.participants.count))
        message.set("num_publishers", UInt32(room.participants.filter { !$0.tracks.isEmpty }.count))
        message.set("active_recording", room.activeRecording)
        return message
    }

    static func participant(_ participant: HubParticipant) -> ProtoMessage {
        var message = ProtoMessage("livekit.ParticipantInfo")
        message.set("sid", participant.sid)
        message.set("identity", participant.identity)
        message.set("name", participant.name)
        message.setEnum("state", number: participant.state.rawValue)
        message.set("tracks", participant.tracks.map(track))
        message.set("metadata", participant.metadata)
        message.set("joined_at", participant.joinedAt / 1_000_000_000)
        message.set("joined_at_ms", participant.joinedAt / 1_000_000)
        message.set("is_publisher", !participant.tracks.isEmpty)
        message.setEnum("kind", number: participant.kind)
        return message
    }

    static func track(_ track: HubTrack) -> ProtoMessage {
        var message = ProtoMessage("livekit.TrackInfo")
        message.set("sid", track.sid)
        message.setEnum("type", number: track.kind.rawValue)
        message.set("name", track.name)
        message.set("muted", track.muted)
        message.setEnum("source", number: track.source.rawValue)
        message.set("mime_type", track.codec.mimeType)
        message.set("stereo", track.stereo)
        return message
    }
}

extension HubError {
    /// The gRPC status of each refusal.
    var rpcError: RPCError {
        switch self {
        case .invalidArgument: RPCError(.invalidArgument, description)
        case .notFound: RPCError(.notFound, description)
        case .alreadyExists: RPCError(.alreadyExists, description)
        }
    }
}

/// Runs a hub call, its refusal turned into the matching gRPC status.
func hubCall<T>(_ call: () async throws -> T) async throws -> T {
    do {
        return try await call()
    } catch let error as HubError {
        throw error.rpcError
    }
}

/// A required string field, or INVALID_ARGUMENT naming it.
func required(_ message: ProtoMessage, _ field: String) throws -> String {
    let value = message.string(field)
    guard !value.isEmpty else { throw RPCError(.invalidArgument, "\(field) is required") }
    return value
}
