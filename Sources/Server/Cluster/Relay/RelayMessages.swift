import APIMessages
import Foundation
import Ingest
import Rooms
import RTP

/// The relay's messages made from the hub's types and back. What comes back is checked like
/// anything from the network: a value out of range is an error naming it, not a trap.
enum RelayMessages {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// What a relayed room may hold: the hub's limits (the nodes of a cluster share them), which
    /// the room's node keeps, so that a peer that breaks them is refused rather than believed.
    struct Limits: Sendable {
        var maxParticipants: Int
        var maxTracksPerParticipant: Int
        var maxNameLength: Int
        var maxMetadataLength: Int
    }

    // MARK: To the wire

    static func message(_ room: HubRoom?) -> Egress_Cluster_RelayMessage {
        var message = Egress_Cluster_RelayRoom()
        if let room {
            message.exists = true
            message.sid = room.sid
            message.name = room.name
            message.createdAt = room.createdAt
            message.participants = room.participants.map(participant)
        }
        var wrapped = Egress_Cluster_RelayMessage()
        wrapped.room = message
        return wrapped
    }

    static func message(_ event: RoomEvent) -> Egress_Cluster_RelayMessage {
        var message = Egress_Cluster_RelayEvent()
        switch event {
        case .participantJoined(let joined): message.participantJoined = participant(joined)
        case .trackPublished(let published): message.trackPublished = track(published)
        case .trackMuteChanged(let changed): message.trackMuteChanged = track(changed)
        case .trackUnpublished(let unpublished): message.trackUnpublished = track(unpublished)
        case .participantLeft(let left, let reason):
            var body = Egress_Cluster_RelayParticipantLeft()
            body.participant = participant(left)
            body.reason = reason
            message.participantLeft = body
        case .roomDeleted(let name): message.roomDeleted = name
        }
        var wrapped = Egress_Cluster_RelayMessage()
        wrapped.event = message
        return wrapped
    }

    static func message(_ frame: MediaFrame) -> Egress_Cluster_RelayMessage {
        var message = Egress_Cluster_RelayFrame()
        message.trackSid = frame.trackSID
        message.codec = frame.codec.rawValue
        message.data = Data(frame.frame.data)
        message.timestamp = frame.frame.timestamp
        message.keyframe = frame.frame.isKeyframe
        message.followsLoss = frame.frame.followsLoss
        message.captureTime = frame.captureTime
        message.synchronized = frame.synchronized
        var wrapped = Egress_Cluster_RelayMessage()
        wrapped.frame = message
        return wrapped
    }

    static func participant(_ participant: HubParticipant) -> Egress_Cluster_RelayParticipant {
        var message = Egress_Cluster_RelayParticipant()
        message.sid = participant.sid
        message.identity = participant.identity
        message.name = participant.name
        message.kind = participant.kind
        message.metadata = participant.metadata
        message.joinedAt = participant.joinedAt
        message.state = participant.state.rawValue
        message.tracks = participant.tracks.map(track)
        return message
    }

    static func track(_ track: HubTrack) -> Egress_Cluster_RelayTrack {
        var message = Egress_Cluster_RelayTrack()
        message.sid = track.sid
        message.room = track.room
        message.roomSid = track.roomSID
        message.participantIdentity = track.participantIdentity
        message.participantSid = track.participantSID
        message.participantKind = track.participantKind
        message.name = track.name
        message.kind = track.kind.rawValue
        message.source = track.source.rawValue
        message.codec = track.codec.rawValue
        message.payloadType = UInt32(track.payloadType)
        message.clockRate = UInt32(clamping: track.clockRate)
        message.ssrc = track.ssrc
        message.stereo = track.stereo
        message.muted = track.muted
        return message
    }

    // MARK: From the wire

    /// What one relayed message says.
    enum Item {
        case room(HubRoom?)
        case event(RoomEvent)
        case frame(MediaFrame)
    }

    static func item(_ message: Egress_Cluster_RelayMessage, limits: Limits = Limits(RoomHubConfiguration())) throws(Invalid) -> Item {
        switch message.kind {
        case .room(let room)?: return .room(try self.room(room, limits: limits))
        case .event(let event)?: return .event(try self.event(event, limits: limits))
        case .frame(let frame)?: return .frame(try self.frame(frame))
        case nil: throw Invalid("a relay message carries nothing")
        }
    }

    static func room(_ message: Egress_Cluster_RelayRoom, limits: Limits = Limits(RoomHubConfiguration())) throws(Invalid) -> HubRoom? {
        guard message.exists else { return nil }
        guard message.participants.count <= limits.maxParticipants else {
            throw Invalid("a relayed room has \(message.participants.count) participants, over the limit of \(limits.maxParticipants)")
        }
        try check(message.name, "a relayed room's name", limits)
        return HubRoom(sid: message.sid, name: message.name, createdAt: message.createdAt,
                       participants: try message.participants.map { (item) throws(Invalid) in try participant(item, limits: limits) })
    }

    static func event(_ message: Egress_Cluster_RelayEvent, limits: Limits = Limits(RoomHubConfiguration())) throws(Invalid) -> RoomEvent {
        switch message.event {
        case .participantJoined(let joined)?: return .participantJoined(try participant(joined, limits: limits))
        case .trackPublished(let published)?: return .trackPublished(try track(published, limits: limits))
        case .trackMuteChanged(let changed)?: return .trackMuteChanged(try track(changed, limits: limits))
        case .trackUnpublished(let unpublished)?: return .trackUnpublished(try track(unpublished, limits: limits))
        case .participantLeft(let left)?:
            guard let who = left.participant else { throw Invalid("a relayed departure names no participant") }
            guard left.reason.utf8.count <= limits.maxMetadataLength else { throw Invalid("a relayed departure's reason is over the limit") }
            return .participantLeft(try participant(who, limits: limits), reason: left.reason)
        case .roomDeleted(let name)?:
            try check(name, "a relayed deleted room's name", limits)
            return .roomDeleted(name)
        case nil: throw Invalid("a relayed event is empty")
        }
    }

    static func frame(_ message: Egress_Cluster_RelayFrame) throws(Invalid) -> MediaFrame {
        guard message.trackSid.utf8.count <= 255 else { throw Invalid("a relayed frame's track sid is over 255 bytes") }
        guard let codec = RTPCodec(rawValue: message.codec) else { throw Invalid("a relayed frame's codec '\(message.codec)' is unknown") }
        guard message.data.count <= EncodedFrame.maxSize else { throw Invalid("a relayed frame of \(message.data.count) bytes is over the limit") }
        let frame = EncodedFrame(data: [UInt8](message.data), timestamp: message.timestamp, isKeyframe: message.keyframe,
                                 followsLoss: message.followsLoss)
        return MediaFrame(trackSID: message.trackSid, codec: codec, frame: frame, captureTime: message.captureTime,
                          synchronized: message.synchronized)
    }

    static func participant(_ message: Egress_Cluster_RelayParticipant, limits: Limits = Limits(RoomHubConfiguration())) throws(Invalid) -> HubParticipant {
        for (text, what) in [(message.identity, "a relayed participant's identity"), (message.sid, "a relayed participant's sid"),
                             (message.name, "a relayed participant's name")] {
            try check(text, what, limits)
        }
        guard message.metadata.utf8.count <= limits.maxMetadataLength else {
            throw Invalid("participant \(message.identity)'s metadata of \(message.metadata.utf8.count) bytes is over the limit of \(limits.maxMetadataLength)")
        }
        guard message.tracks.count <= limits.maxTracksPerParticipant else {
            throw Invalid("participant \(message.identity) has \(message.tracks.count) tracks, over the limit of \(limits.maxTracksPerParticipant)")
        }
        guard let state = HubParticipant.State(rawValue: message.state) else {
            throw Invalid("participant \(message.identity)'s state \(message.state) is unknown")
        }
        return HubParticipant(sid: message.sid, identity: message.identity, name: message.name, kind: message.kind, metadata: message.metadata,
                              joinedAt: message.joinedAt, state: state,
                              tracks: try message.tracks.map { (item) throws(Invalid) in try track(item, limits: limits) })
    }

    /// A name or id the hub would take: at most `maxNameLength` bytes.
    private static func check(_ text: String, _ what: String, _ limits: Limits) throws(Invalid) {
        guard text.utf8.count <= limits.maxNameLength else {
            throw Invalid("\(what) of \(text.utf8.count) bytes is over the limit of \(limits.maxNameLength)")
        }
    }

    static func track(_ message: Egress_Cluster_RelayTrack, limits: Limits = Limits(RoomHubConfiguration())) throws(Invalid) -> HubTrack {
        for (text, what) in [(message.sid, "a relayed track's sid"), (message.name, "a relayed track's name"), (message.room, "a relayed track's room"),
                             (message.roomSid, "a relayed track's room sid"), (message.participantIdentity, "a relayed track's participant"),
                             (message.participantSid, "a relayed track's participant sid")] {
            try check(text, what, limits)
        }
        guard let kind = TrackKind(rawValue: message.kind) else { throw Invalid("track \(message.sid)'s kind \(message.kind) is unknown") }
        guard let source = TrackSource(rawValue: message.source) else { throw Invalid("track \(message.sid)'s source \(message.source) is unknown") }
        guard let codec = RTPCodec(rawValue: message.codec) else { throw Invalid("track \(message.sid)'s codec '\(message.codec)' is unknown") }
        guard codec.isVideo == (kind == .video) else { throw Invalid("track \(message.sid) is \(kind) but its codec is \(codec.rawValue)") }
        guard message.payloadType < 128 else { throw Invalid("track \(message.sid)'s payload type \(message.payloadType) is over 127") }
        guard (1...1_000_000).contains(message.clockRate) else { throw Invalid("track \(message.sid)'s clock rate \(message.clockRate) is out of range") }
        return HubTrack(sid: message.sid, room: message.room, roomSID: message.roomSid, participantIdentity: message.participantIdentity,
                        participantSID: message.participantSid, participantKind: message.participantKind, name: message.name, kind: kind,
                        source: source, codec: codec, payloadType: UInt8(message.payloadType), clockRate: Int(message.clockRate),
                        ssrc: message.ssrc, stereo: message.stereo, muted: message.muted)
    }
}

extension RelayMessages.Limits {
    /// A hub's limits.
    init(_ hub: RoomHubConfiguration) {
        self.init(maxParticipants: hub.maxParticipantsPerRoom, maxTracksPerParticipant: hub.maxTracksPerParticipant,
                  maxNameLength: hub.maxNameLength, maxMetadataLength: hub.maxMetadataLength)
    }
}
