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

    public init(sid: String, room: String, roomSID: String, participantIdentity: String, participantSID: String, participantKind: Int32,
                name: String, kind: TrackKind, source: TrackSource, codec: RTPCodec, payloadType: UInt8, clockRate: Int, ssrc: UInt32,
                stereo: Bool, muted: Bool) {
        (self.sid, self.room, self.roomSID, self.participantIdentity, self.participantSID) = (sid, room, roomSID, participantIdentity, participantSID)
        (self.participantKind, self.name, self.kind, self.source, self.codec) = (participantKind, name, kind, source, codec)
        (self.payloadType, self.clockRate, self.ssrc, self.stereo, self.muted) = (payloadType, clockRate, ssrc, stereo, muted)
    }
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

    public init(sid: String, identity: String, name: String, kind: Int32, metadata: String, joinedAt: Int64, state: State, tracks: [HubTrack]) {
        (self.sid, self.identity, self.name, self.kind) = (sid, identity, name, kind)
        (self.metadata, self.joinedAt, self.state, self.tracks) = (metadata, joinedAt, state, tracks)
    }
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
    /// Made by CreateRoom with these settings (a room made by a join has none and closes when
    /// its last participant leaves).
    public var settings: RoomSettings?
    /// Unix ns since when it has had nobody (a created room waits its timeouts).
    public var emptySince: Int64?

    public init(sid: String, name: String, createdAt: Int64, participants: [HubParticipant], activeRecording: Bool = false) {
        (self.sid, self.name, self.createdAt, self.participants, self.activeRecording) = (sid, name, createdAt, participants, activeRecording)
    }
}

/// What CreateRoom sets for a room (LiveKit's names; seconds; 0 for the server's default or none).
public struct RoomSettings: Sendable, Equatable {
    /// How long it stays open when nobody ever joined (default 300 s).
    public var emptyTimeout: UInt32
    /// How long it stays open after the last participant left (default 20 s).
    public var departureTimeout: UInt32
    /// At most this many participants (0: the hub's limit).
    public var maxParticipants: UInt32
    public var metadata: String
    /// Whether anybody has joined yet.
    public var hadParticipants = false

    public static let defaultEmptyTimeout: UInt32 = 300
    public static let defaultDepartureTimeout: UInt32 = 20

    public init(emptyTimeout: UInt32, departureTimeout: UInt32, maxParticipants: UInt32, metadata: String) {
        self.emptyTimeout = emptyTimeout == 0 ? Self.defaultEmptyTimeout : emptyTimeout
        self.departureTimeout = departureTimeout == 0 ? Self.defaultDepartureTimeout : departureTimeout
        self.maxParticipants = maxParticipants
        self.metadata = metadata
    }
}
