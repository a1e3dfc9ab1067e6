import Rooms
import SessionManager

/// Which tracks of a room an egress records, from its request: a participant's camera and
/// microphone (or screen share and its audio), tracks named by id, or — for `StartEgress` —
/// a video source and audio routes, each audio track going to both channels, the left or the right.
struct TrackSelection: Sendable {
    typealias Channel = EgressSpec.AudioRoute.Channel

    /// The participant whose joining and leaving drive the egress, if any.
    let participant: String?
    private let isSingleTrack: Bool
    private let videoRule: Rule?
    /// Audio rules in order; the first that matches a track gives its channel.
    private let audioRules: [(rule: Rule, channel: Channel)]
    /// Every other audio track of the room too, to both channels.
    private let captureAllAudio: Bool

    enum Rule: Sendable, Equatable {
        case trackID(String)
        case participant(identity: String, sources: [TrackSource])
        case participantKind(Int32)

        func matches(_ track: HubTrack) -> Bool {
            switch self {
            case .trackID(let id): track.sid == id
            case .participant(let identity, let sources): track.participantIdentity == identity && sources.contains(track.source)
            case .participantKind(let kind): track.participantKind == kind
            }
        }
    }

    enum Slot: Sendable, Equatable { case video, audio(Channel) }

    init(_ source: EgressSpec.Source) {
        if case .track = source { isSingleTrack = true } else { isSingleTrack = false }
        captureAllAudio = if case .media(_, let audio) = source { audio?.captureAll ?? false } else { false }
        switch source {
        case .participant(let identity, let screenShare):
            participant = identity
            videoRule = .participant(identity: identity, sources: [screenShare ? .screenShare : .camera])
            audioRules = [(.participant(identity: identity, sources: [screenShare ? .screenShareAudio : .microphone]), .both)]
        case .trackComposite(let audio, let video):
            participant = nil
            videoRule = video.map { .trackID($0) }
            audioRules = audio.map { [(.trackID($0), .both)] } ?? []
        case .track(let id):
            participant = nil
            videoRule = .trackID(id)
            audioRules = [(.trackID(id), .both)]
        case .media(let video, let audio):
            switch video {
            case .track(let id)?:
                videoRule = .trackID(id)
                participant = nil
            case .participant(let identity, let preferScreenShare)?:
                videoRule = .participant(identity: identity, sources: preferScreenShare ? [.screenShare, .camera] : [.camera, .screenShare])
                participant = identity
            case nil:
                videoRule = nil
                participant = nil
            }
            audioRules = (audio?.routes ?? []).map { route in
                switch route.match {
                case .trackID(let id): (.trackID(id), route.channel)
                case .participantIdentity(let identity): (.participant(identity: identity, sources: [.microphone, .screenShareAudio]), route.channel)
                case .participantKind(let kind): (.participantKind(kind), route.channel)
                }
            }
        }
    }

    /// Track ids the request names, which must exist when it starts.
    var requiredTrackIDs: [String] {
        var ids: [String] = []
        for rule in [videoRule] + audioRules.map(\.rule) {
            if case .trackID(let id)? = rule, !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Whose frames the egress may record: a participant's, or the tracks it names, when every
    /// rule says so; else every track's (rules by participant kind, every audio track).
    var mediaInterest: MediaInterest {
        guard !captureAllAudio else { return .all }
        let rules = [videoRule].compactMap { $0 } + audioRules.map(\.rule)
        var identities: Set<String> = [], sids: Set<String> = []
        for rule in rules {
            switch rule {
            case .trackID(let id): sids.insert(id)
            case .participant(let identity, _): identities.insert(identity)
            case .participantKind: return .all
            }
        }
        if identities.isEmpty { return .tracks(sids) }
        if sids.isEmpty, identities.count == 1, let identity = identities.first { return .participant(identity) }
        return .all
    }

    /// The slot `track` fills, if the egress wants it.
    func slot(for track: HubTrack) -> Slot? {
        if track.kind == .video { return videoRule?.matches(track) == true ? .video : nil }
        if let match = audioRules.first(where: { $0.rule.matches(track) }) { return .audio(match.channel) }
        return captureAllAudio ? .audio(.both) : nil
    }

    /// Whether the egress names its tracks (it ends when they are all gone).
    var isByTrackID: Bool { participant == nil }

    /// Whether every track the egress can record is there (a Track egress has one).
    func isComplete(video: HubTrack?, hasAudio: Bool) -> Bool {
        if isSingleTrack { return video != nil || hasAudio }
        return (videoRule == nil || video != nil) && (audioRules.isEmpty || hasAudio)
    }
}
