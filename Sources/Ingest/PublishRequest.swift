import Rooms
import RTP

/// What a publisher announces about a track.
public struct PublishRequest: Sendable {
    public var room: String
    public var identity: String
    public var name: String
    public var kind: TrackKind
    public var source: TrackSource
    public var codec: RTPCodec
    public var payloadType: UInt32
    /// 0: the codec's own.
    public var clockRate: UInt32
    /// 0: the hub chooses one.
    public var ssrc: UInt32
    public var stereo: Bool
    /// Where the track's RTP will come from; nil: the address of its first packet.
    public var sender: SourceAddress?

    public init(room: String, identity: String, name: String = "", kind: TrackKind, source: TrackSource, codec: RTPCodec,
                payloadType: UInt32, clockRate: UInt32 = 0, ssrc: UInt32 = 0, stereo: Bool = false, sender: SourceAddress? = nil) {
        self.room = room
        self.identity = identity
        self.name = name
        self.kind = kind
        self.source = source
        self.codec = codec
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.ssrc = ssrc
        self.stereo = stereo
        self.sender = sender
    }
}
