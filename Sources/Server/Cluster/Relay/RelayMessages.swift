import APIMessages
import Foundation
import Rooms
import RTP

/// The relay's messages made from the hub's types and back. What comes back is checked like
/// anything from the network: a value out of range is an error naming it, not a trap.
enum RelayMessages {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
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

    static func item(_ message: Egress_Cluster_RelayMessage) throws(Invalid) -> Item {
        switch message.kind {
        case .room(let room)?: return .room(try self.room(room))
        case .event(let event)?: return .event(try self.event(event))
        case .frame(let frame)?: return .frame(try self.frame(frame))
        case nil: throw Invalid("a relay message carries nothing")
        }
    }

    static func room(_ message: Egress_Cluster_RelayRoom) throws(Invalid) -> HubRoom? {
        guard message.exists else { return nil }
        return HubRoom(sid: message.sid, name: message.name, createdAt: message.createdAt,
                       participants: try message.participants.map { (item) throws(Invalid) in try participant(item) })
    }

    static func event(_ message: Egress_Cluster_RelayEvent) throws(Invalid) -> RoomEvent {
        switch message.event {
        case .participantJoined(let joined)?: return .participantJoined(try participant(joined))
        case .trackPublished(let published)?: return .trackPublished(try track(published))
        case .trackMuteChanged(let changed)?: return .trackMuteChanged(try track(changed))
        case .trackUnpublished(let unpublished)?: return .trackUnpublished(try track(unpublished))
        case .participantLeft(let left)?:
            guard let who = left.participant else { throw Invalid("a relayed departure names no participant") }
            return .participantLeft(try participant(who), reason: left.reason)
        case .roomDeleted(let name)?: return .roomDeleted(name)
        case nil: throw Invalid("a relayed event is empty")
        }
    }

    static func frame(_ message: Egress_Cluster_RelayFrame) throws(Invalid) -> MediaFrame {
        guard let codec = RTPCodec(rawValue: message.codec) else { throw Invalid("a relayed frame's codec '\(message.codec)' is unknown") }
        guard message.data.count <= EncodedFrame.maxSize else { throw Invalid("a relayed frame of \(message.data.count) bytes is over the limit") }
        let frame = EncodedFrame(data: [UInt8](message.data), timestamp: message.timestamp, isKeyframe: message.keyframe,
                                 followsLoss: message.followsLoss)
        return MediaFrame(trackSID: message.trackSid, codec: codec, frame: frame, captureTime: message.captureTime,
                          synchronized: message.synchronized)
    }

    static func participant(_ message: Egress_Cluster_RelayParticipant) throws(Invalid) -> HubParticipant {
        guard let state = HubParticipant.State(rawValue: message.state) else {
            throw Invalid("participant \(message.identity)'s state \(message.state) is unknown")
        }
        return HubParticipant(sid: message.sid, identity: message.identity, name: message.name, kind: message.kind, metadata: message.metadata,
                              joinedAt: message.joinedAt, state: state, tracks: try message.tracks.map { (item) throws(Invalid) in try track(item) })
    }

    static func track(_ message: Egress_Cluster_RelayTrack) throws(Invalid) -> HubTrack {
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
