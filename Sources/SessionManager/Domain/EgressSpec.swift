/// What an egress records and where it writes: the validated, wire-independent form of a
/// Start* request.
public struct EgressSpec: Sendable, Equatable, Codable {
    public var roomName: String
    public var source: Source
    public var encoding: Encoding
    public var outputs: Outputs
    /// Where the egress's own events go, beside the server's webhooks.
    public var webhooks: [RequestWebhook]

    public init(roomName: String, source: Source, encoding: Encoding, outputs: Outputs, webhooks: [RequestWebhook] = []) {
        self.roomName = roomName
        self.source = source
        self.encoding = encoding
        self.outputs = outputs
        self.webhooks = webhooks
    }

    /// The kind of request that made the egress, which is also what it records.
    public enum Source: Sendable, Equatable, Codable {
        /// One participant's camera + microphone, or with `screenShare` its screen share + screen audio.
        case participant(identity: String, screenShare: Bool)
        /// One chosen audio track and/or one chosen video track.
        case trackComposite(audioTrackID: String?, videoTrackID: String?)
        /// One track, written without transcoding.
        case track(trackID: String)
        /// The unified request's media source.
        case media(video: VideoSelection?, audio: AudioSelection?)
    }

    public enum VideoSelection: Sendable, Equatable, Codable {
        case track(id: String)
        case participant(identity: String, preferScreenShare: Bool)
    }

    public struct AudioSelection: Sendable, Equatable, Codable {
        public var captureAll: Bool
        public var routes: [AudioRoute]

        public init(captureAll: Bool, routes: [AudioRoute]) {
            self.captureAll = captureAll
            self.routes = routes
        }
    }

    public struct AudioRoute: Sendable, Equatable, Codable {
        public enum Match: Sendable, Equatable, Codable {
            case trackID(String)
            case participantIdentity(String)
            case participantKind(Int32)
        }

        public enum Channel: Int32, Sendable, Codable {
            case both = 0, left = 1, right = 2
        }

        public var match: Match
        public var channel: Channel

        public init(match: Match, channel: Channel) {
            self.match = match
            self.channel = channel
        }
    }

    /// Whether the recording has a video track: false only when the request leaves video out.
    public var recordsVideo: Bool {
        switch source {
        case .participant: true
        case .trackComposite(_, let video): video != nil
        case .track: false
        case .media(let video, _): video != nil
        }
    }
}
