import APIMessages
import APIServices
import Ingest
import Rooms
import RPC
import RTP

/// `egress.ingest.RoomIngest`: how RTP publishers join the embedded hub and announce tracks.
public struct RoomIngestService: Egress_Ingest_RoomIngest.ServiceProtocol {
    let hub: RoomHub

    public init(hub: RoomHub) {
        self.hub = hub
    }

    public func joinRoom(request: Egress_Ingest_JoinRoomRequest, context: ServerContext) async throws -> Egress_Ingest_JoinRoomResponse {
        let (participant, room) = try await hubCall {
            try await hub.join(room: request.room, identity: request.identity, name: request.name, kind: request.kind.rawValue,
                               metadata: request.metadata)
        }
        var response = Egress_Ingest_JoinRoomResponse()
        response.participant = HubMessages.participant(participant)
        response.room = HubMessages.room(room)
        return response
    }

    public func publishTrack(request: Egress_Ingest_PublishTrackRequest, context: ServerContext) async throws
        -> Egress_Ingest_PublishTrackResponse {
        let publish = try Self.publishRequest(request)
        let (track, host, port) = try await hubCall { try await hub.publish(publish) }
        var response = Egress_Ingest_PublishTrackResponse()
        response.track = HubMessages.track(track)
        response.rtpHost = host
        response.rtpPort = UInt32(port)
        response.ssrc = track.ssrc
        return response
    }

    public func setTrackMuted(request: Egress_Ingest_SetTrackMutedRequest, context: ServerContext) async throws
        -> Egress_Ingest_SetTrackMutedResponse {
        let trackSID = try required(request.trackSid, "track_sid")
        let track = try await hubCall {
            try await hub.setMuted(room: request.room, identity: request.identity, trackSID: trackSID, muted: request.muted)
        }
        var response = Egress_Ingest_SetTrackMutedResponse()
        response.track = HubMessages.track(track)
        return response
    }

    public func unpublishTrack(request: Egress_Ingest_UnpublishTrackRequest, context: ServerContext) async throws
        -> Egress_Ingest_UnpublishTrackResponse {
        let trackSID = try required(request.trackSid, "track_sid")
        try await hubCall { try await hub.unpublish(room: request.room, identity: request.identity, trackSID: trackSID) }
        return Egress_Ingest_UnpublishTrackResponse()
    }

    public func leaveRoom(request: Egress_Ingest_LeaveRoomRequest, context: ServerContext) async throws -> Egress_Ingest_LeaveRoomResponse {
        try await hubCall { try await hub.leave(room: request.room, identity: request.identity) }
        return Egress_Ingest_LeaveRoomResponse()
    }

    public func keepAlive(request: Egress_Ingest_KeepAliveRequest, context: ServerContext) async throws -> Egress_Ingest_KeepAliveResponse {
        try await hubCall { try await hub.keepAlive(room: request.room, identity: request.identity) }
        return Egress_Ingest_KeepAliveResponse()
    }

    public func getIngestStats(request: Egress_Ingest_GetIngestStatsRequest, context: ServerContext) async throws -> Egress_Ingest_IngestStats {
        let statistics = await hub.statistics()
        var response = Egress_Ingest_IngestStats()
        response.tracks = statistics.tracks.filter { request.room.isEmpty || $0.room == request.room }.map(Self.trackStats)
        response.unknownSsrcPackets = UInt64(statistics.unknownSSRCPackets)
        response.malformedPackets = UInt64(statistics.malformedPackets)
        response.oversizePackets = UInt64(statistics.oversizePackets)
        response.stunIgnored = UInt64(statistics.stunIgnored)
        response.securedUnrouted = UInt64(statistics.securedUnrouted)
        response.securedRejected = UInt64(statistics.securedRejected)
        response.plainRtpRefused = UInt64(statistics.plainRTPRefused)
        response.webrtcSessions = UInt64(statistics.webRTCSessions)
        return response
    }

    private static func publishRequest(_ request: Egress_Ingest_PublishTrackRequest) throws -> PublishRequest {
        let codec: RTPCodec
        switch request.codec {
        case .h264: codec = .h264
        case .vp8: codec = .vp8
        case .opus: codec = .opus
        default: throw RPCError(.invalidArgument, "codec must be H264, VP8 or OPUS")
        }
        guard let kind = TrackKind(rawValue: request.type.rawValue) else {
            throw RPCError(.invalidArgument, "type must be AUDIO or VIDEO")
        }
        guard let source = TrackSource(rawValue: request.source.rawValue) else {
            throw RPCError(.invalidArgument, "source \(request.source.rawValue) is not a TrackSource")
        }
        var sender: SourceAddress?
        if !request.rtpSource.isEmpty {
            guard let address = SourceAddress.parse(request.rtpSource) else {
                throw RPCError(.invalidArgument, "rtp_source \"\(request.rtpSource.prefix(64))\" is not a numeric host:port ([v6]:port for IPv6)")
            }
            sender = address
        }
        return PublishRequest(room: try required(request.room, "room"), identity: try required(request.identity, "identity"),
                              name: request.name, kind: kind, source: source, codec: codec, payloadType: request.payloadType,
                              clockRate: request.clockRate, ssrc: request.ssrc, stereo: request.stereo, sender: sender)
    }

    private static func trackStats(_ track: HubStatistics.Track) -> Egress_Ingest_TrackStats {
        var message = Egress_Ingest_TrackStats()
        message.trackSid = track.sid
        message.room = track.room
        message.identity = track.identity
        message.packetsReceived = UInt64(track.packetsReceived)
        message.packetsLost = UInt64(track.packetsLost)
        message.packetsLate = UInt64(track.packetsLate)
        message.packetsReordered = UInt64(track.packetsReordered)
        message.packetsDuplicate = UInt64(track.packetsDuplicate)
        message.packetsWrongPayloadType = UInt64(track.packetsWrongPayloadType)
        message.frames = UInt64(track.frames)
        message.bytes = UInt64(track.bytes)
        message.packetsWrongSource = UInt64(track.packetsWrongSource)
        message.packetsOutOfRange = UInt64(track.packetsOutOfRange)
        message.sequenceRestarts = UInt64(track.sequenceRestarts)
        message.framesOutOfTime = UInt64(track.framesOutOfTime)
        message.packetsNacked = UInt64(track.packetsNacked)
        message.packetsRecovered = UInt64(track.packetsRecovered)
        message.keyFrameRequests = UInt64(track.keyFrameRequests)
        message.transport = track.isWebRTC ? "webrtc" : "rtp"
        return message
    }
}
