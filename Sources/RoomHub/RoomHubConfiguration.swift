import Support

/// The hub's limits and timeouts.
public struct RoomHubConfiguration: Sendable {
    /// Address the RTP port binds to (127.0.0.1 unless told otherwise).
    public var rtpHost = "127.0.0.1"
    /// One UDP port for every track's RTP and RTCP (0: chosen by the system).
    public var rtpPort = 7882
    /// A participant that sends no RTP and makes no call for this long has left.
    public var participantTimeout: Duration = .seconds(20)
    /// How long a packet may wait in a jitter buffer for a missing predecessor.
    public var maxJitterDelay: Duration = .milliseconds(150)
    public var maxRooms = 1000
    public var maxParticipantsPerRoom = 100
    public var maxTracksPerParticipant = 8

    public init() {}
}
