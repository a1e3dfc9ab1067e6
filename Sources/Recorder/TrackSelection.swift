import RoomHub
import SessionManager

/// Which tracks of a room an egress records, from its request: a participant's camera and
/// microphone (or screen share and its audio), or tracks named by id.
struct TrackSelection: Sendable {
    /// The participant whose joining and leaving drive the egress, if any.
    let participant: String?
    private let isSingleTrack: Bool
    private let videoRule: Rule?
    private let audioRule: Rule?

    enum Rule: Sendable, Equatable {
        case trackID(String)
        case participant(identity: String, sources: [TrackSource])
    }

    enum Slot: Sendable { case video, audio }

    init(_ source: EgressSpec.Source) {
        if case .track = source { isSingleTrack = true } else { isSingleTrack = false }
        switch source {
        case .participant(let identity, let screenShare):
            participant = identity
            videoRule = .participant(identity: identity, sources: [screenShare ? .screenShare : .camera])
            audioRule = .participant(identity: identity, sources: [screenShare ? .screenShareAudio : .microphone])
        case .trackComposite(let audio, let video):
            participant = nil
            videoRule = video.map { .trackID($0) }
            audioRule = audio.map { .trackID($0) }
        case .track(let id):
            participant = nil
            videoRule = .trackID(id)
            audioRule = .trackID(id)
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
            // One audio track is recorded: the first route that matches.
            switch audio?.routes.first?.match {
            case .trackID(let id)?: audioRule = .trackID(id)
            case .participantIdentity(let identity)?:
                audioRule = .participant(identity: identity, sources: [.microphone, .screenShareAudio])
            case .participantKind?, nil:
                audioRule = participant.map { .participant(identity: $0, sources: [.microphone, .screenShareAudio]) }
            }
        }
    }

    /// Track ids the request names, which must exist when it starts.
    var requiredTrackIDs: [String] {
        var ids: [String] = []
        for rule in [videoRule, audioRule] {
            if case .trackID(let id)? = rule, !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// The slot `track` fills, if the egress wants it.
    func slot(for track: HubTrack) -> Slot? {
        let rule = track.kind == .video ? videoRule : audioRule
        switch rule {
        case .trackID(let id)?: return id == track.sid ? (track.kind == .video ? .video : .audio) : nil
        case .participant(let identity, let sources)?:
            guard track.participantIdentity == identity, sources.contains(track.source) else { return nil }
            return track.kind == .video ? .video : .audio
        case nil: return nil
        }
    }

    /// Whether the egress names its tracks (it ends when they are all gone).
    var isByTrackID: Bool { participant == nil }

    /// Whether every track the egress can record is there (a Track egress has one).
    func isComplete(video: HubTrack?, audio: HubTrack?) -> Bool {
        if isSingleTrack { return video != nil || audio != nil }
        return (videoRule == nil || video != nil) && (audioRule == nil || audio != nil)
    }
}
