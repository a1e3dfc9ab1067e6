import RTP

/// Audio or video (LiveKit's `TrackType` numbers).
public enum TrackKind: Int32, Sendable, Equatable {
    case audio = 0, video = 1
}

/// What a track carries (LiveKit's `TrackSource` numbers).
public enum TrackSource: Int32, Sendable, Equatable, CustomStringConvertible {
    case unknown = 0, camera = 1, microphone = 2, screenShare = 3, screenShareAudio = 4

    public var description: String {
        switch self {
        case .unknown: "unknown"
        case .camera: "camera"
        case .microphone: "microphone"
        case .screenShare: "screen_share"
        case .screenShareAudio: "screen_share_audio"
        }
    }
}

/// A published track, as the hub knows it.
public struct HubTrack: Sendable, Equatable {
    public var sid: String
    public var room: String
    public var roomSID: String
    public var participantIdentity: String
    public var participantSID: String
    /// The publisher's LiveKit `ParticipantInfo.Kind` number.
    public var participantKind: Int32
    public var name: String
    public var kind: TrackKind
    public var source: TrackSource
    public var codec: RTPCodec
    public var payloadType: UInt8
    public var clockRate: Int
    public var ssrc: UInt32
    public var stereo: Bool
    public var muted: Bool
}

/// A participant of a room.
public struct HubParticipant: Sendable, Equatable {
    public enum State: Int32, Sendable {
        case joining = 0, joined = 1, active = 2, disconnected = 3
    }

    public var sid: String
    public var identity: String
    public var name: String
    /// LiveKit's `ParticipantInfo.Kind` number.
    public var kind: Int32
    public var metadata: String
    /// Unix ns.
    public var joinedAt: Int64
    public var state: State
    /// In publishing order.
    public var tracks: [HubTrack]
}

/// A room and who is in it.
public struct HubRoom: Sendable, Equatable {
    public var sid: String
    public var name: String
    /// Unix ns.
    public var createdAt: Int64
    /// In joining order.
    public var participants: [HubParticipant]
    /// Live egresses recording this room, as reported by the recorder.
    public var activeRecording: Bool = false
}
