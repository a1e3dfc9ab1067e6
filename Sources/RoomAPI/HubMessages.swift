import APIMessages
import Ingest
import Rooms
import RPC

/// The hub's rooms, participants and tracks as LiveKit's `Room`, `ParticipantInfo` and `TrackInfo`.
enum HubMessages {
    static func room(_ room: HubRoom) -> Livekit_Room {
        var message = Livekit_Room()
        message.sid = room.sid
        message.name = room.name
        message.creationTime = room.createdAt / 1_000_000_000
        message.creationTimeMs = room.createdAt / 1_000_000
        message.numParticipants = UInt32(room.participants.count)
        message.numPublishers = UInt32(room.participants.filter { !$0.tracks.isEmpty }.count)
        message.activeRecording = room.activeRecording
        if let settings = room.settings {
            message.emptyTimeout = settings.emptyTimeout
            message.departureTimeout = settings.departureTimeout
            message.maxParticipants = settings.maxParticipants
            message.metadata = settings.metadata
        }
        return message
    }

    static func participant(_ participant: HubParticipant) -> Livekit_ParticipantInfo {
        var message = Livekit_ParticipantInfo()
        message.sid = participant.sid
        message.identity = participant.identity
        message.name = participant.name
        message.state = .init(rawValue: participant.state.rawValue)
        message.tracks = participant.tracks.map(track)
        message.metadata = participant.metadata
        message.joinedAt = participant.joinedAt / 1_000_000_000
        message.joinedAtMs = participant.joinedAt / 1_000_000
        message.isPublisher = !participant.tracks.isEmpty
        message.kind = .init(rawValue: participant.kind)
        return message
    }

    static func track(_ track: HubTrack) -> Livekit_TrackInfo {
        var message = Livekit_TrackInfo()
        message.sid = track.sid
        message.type = .init(rawValue: track.kind.rawValue)
        message.name = track.name
        message.muted = track.muted
        message.source = .init(rawValue: track.source.rawValue)
        message.mimeType = track.codec.mimeType
        message.stereo = track.stereo
        return message
    }
}

extension HubError {
    /// The gRPC status of each refusal.
    var rpcError: RPCError {
        switch self {
        case .invalidArgument, .roomFull: RPCError(.invalidArgument, description)
        case .unavailable: RPCError(.failedPrecondition, description)
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

/// A required string field's value, or INVALID_ARGUMENT naming the field.
func required(_ value: String, _ field: String) throws -> String {
    guard !value.isEmpty else { throw RPCError(.invalidArgument, "\(field) is required") }
    return value
}
