/// A WHIP publisher's offer, with who it is (from its token) and how its tracks are meant.
public struct WebRTCPublishRequest: Sendable {
    public var room: String
    public var identity: String
    public var name: String
    public var metadata: String
    /// The SDP offer, as received.
    public var offer: String
    /// `?source=screen_share`: the tracks are the screen and its audio.
    public var screenShare: Bool

    public init(room: String, identity: String, name: String = "", metadata: String = "", offer: String, screenShare: Bool = false) {
        self.room = room
        self.identity = identity
        self.name = name
        self.metadata = metadata
        self.offer = offer
        self.screenShare = screenShare
    }
}

/// A WHIP session the hub opened: its id (the resource's last path segment) and the answer.
public struct WebRTCPublication: Sendable {
    public var sessionID: String
    public var answer: String
    public var participantSID: String
}
