import Protobuf
import RoomHub
import RPC
import RTP

/// `egress.ingest.RoomIngest`: how RTP publishers join the embedded hub and announce tracks.
public enum RoomIngestService {
    public static func make(hub: RoomHub) -> RPCService {
        RPCService("egress.ingest.RoomIngest", handlers: [
            "JoinRoom": .unary { request in
                let message = request.message
                let (participant, room) = try await hubCall {
                    try await hub.join(room: message.string("room"), identity: message.string("identity"), name: message.string("name"),
                                       kind: message.enumNumber("kind"), metadata: message.string("metadata"))
                }
                var response = ProtoMessage("egress.ingest.JoinRoomResponse")
                response.set("participant", HubMessages.participant(participant))
                response.set("room", HubMessages.room(room))
                return ServerResponse(response)
            },
            "PublishTrack": .unary { request in
                let publish = try publishRequest(request.message)
                let (track, host, port) = try await hubCall { try await hub.publish(publish) }
                var response = ProtoMessage("egress.ingest.PublishTrackResponse")
                response.set("track", HubMessages.track(track))
                response.set("rtp_host", host)
                response.set("rtp_port", UInt32(port))
                response.set("ssrc", track.ssrc)
                return ServerResponse(response)
            },
            "SetTrackMuted": .unary { request in
                let message = request.message
                let track = try await hubCall {
                    try await hub.setMuted(room: message.string("room"), identity: message.string("identity"),
                                           trackSID: try required(message, "track_sid"), muted: message.bool("muted"))
                }
                var response = ProtoMessage("egress.ingest.SetTrackMutedResponse")
                response.set("track", HubMessages.track(track))
                return ServerResponse(response)
            },
            "UnpublishTrack": .unary { request in
                let message = request.message
                try await hubCall {
                    try await hub.unpublish(room: message.string("room"), identity: message.string("identity"),
                                            trackSID: try required(message, "track_sid"))
                }
                return ServerResponse(ProtoMessage("egress.ingest.UnpublishTrackResponse"))
            },
            "LeaveRoom": .unary { request in
                try await hubCall { try await hub.leave(room: request.message.string("room"), identity: request.message.string("identity")) }
                return ServerResponse(ProtoMessage("egress.ingest.LeaveRoomResponse"))
            },
            "KeepAlive": .unary { request in
                try await hubCall { try await hub.keepAlive(room: request.message.string("room"), identity: request.message.string("identity")) }
                return ServerResponse(ProtoMessage("egress.ingest.KeepAliveResponse"))
            },
            "GetIngestStats": .unary { request in
                let room = request.message.string("room")
                let statistics = await hub.statistics()
                var response = ProtoMessage("egress.ingest.IngestStats")
                response.set("tracks", statistics.tracks.filter { room.isEmpty || $0.room == room }.map(trackStats))
                response.set("unknown_ssrc_packets", UInt64(statistics.unknownSSRCPackets))
                response.set("malformed_packets", UInt64(statistics.malformedPackets))
                response.set("oversize_packets", UInt64(statistics.oversizePackets))
                return ServerResponse(response)
            },
        ])
    }

    private static func publishRequest(_ message: ProtoMessage) throws -> PublishRequest {
        let codec: RTPCodec
        switch message.enumName("codec") {
        case "H264": codec = .h264
        case "VP8": codec = .vp8
        case "OPUS": codec = .opus
        default: throw RPCError(.invalidArgument, "codec must be H264, VP8 or OPUS")
        }
        guard let kind = TrackKind(rawValue: message.enumNumber("type")) else {
            throw RPCError(.invalidArgument, "type must be AUDIO or VIDEO")
        }
        guard let source = TrackSource(rawValue: message.enumNumber("source")) else {
            throw RPCError(.invalidArgument, "source \(message.enumNumber("source")) is not a TrackSource")
        }
        var sender: SourceAddress?
        if case let text = message.string("rtp_source"), !text.isEmpty {
            guard let address = SourceAddress.parse(text) else {
                throw RPCError(.invalidArgument, "rtp_source \"\(text.prefix(64))\" is not a numeric host:port ([v6]:port for IPv6)")
            }
            sender = address
        }
        return PublishRequest(room: try required(message, "room"), identity: try required(message, "identity"),
                              name: message.string("name"), kind: kind, source: source, codec: codec,
                              payloadType: message.uint32("payload_type"), clockRate: message.uint32("clock_rate"),
                              ssrc: message.uint32("ssrc"), stereo: message.bool("stereo"), sender: sender)
    }

    private static func trackStats(_ track: HubStatistics.Track) -> ProtoMessage {
        var message = ProtoMessage("egress.ingest.TrackStats")
        message.set("track_sid", track.sid)
        message.set("room", track.room)
        message.set("identity", track.identity)
        message.set("packets_received", UInt64(track.packetsReceived))
        message.set("packets_lost", UInt64(track.packetsLost))
        message.set("packets_late", UInt64(track.packetsLate))
        message.set("packets_reordered", UInt64(track.packetsReordered))
        message.set("packets_duplicate", UInt64(track.packetsDuplicate))
        message.set("packets_wrong_payload_type", UInt64(track.packetsWrongPayloadType))
        message.set("frames", UInt64(track.frames))
        message.set("bytes", UInt64(track.bytes))
        message.set("packets_wrong_source", UInt64(track.packetsWrongSource))
        message.set("packets_out_of_range", UInt64(track.packetsOutOfRange))
        message.set("sequence_restarts", UInt64(track.sequenceRestarts))
        message.set("frames_out_of_time", UInt64(track.framesOutOfTime))
        return message
    }
}
