import Protobuf
import RPC
import SessionManager

/// `livekit.Egress`: every RPC of LiveKit's Egress service, answered over the session manager.
public enum EgressService {
    public static func make(sessions: SessionManager, configuration: EgressAPIConfiguration) -> RPCService {
        let decoder = EgressRequestDecoder(configuration: configuration)

        /// A Start* handler: decode and validate, then create the egress.
        func start(echoAs field: String,
                   _ decode: @escaping @Sendable (EgressRequestDecoder) -> (ProtoMessage) throws(RPCError) -> EgressSpec) -> RPCHandler {
            .unary { request in
                guard request.encodedSize <= configuration.maxStartRequestSize else {
                    throw RPCError.invalidArgument(
                        "request of \(request.encodedSize) bytes is larger than the \(configuration.maxStartRequestSize) bytes an egress request may have")
                }
                let spec = try decode(decoder)(request.message)
                let echoed = EgressRecord.EchoedRequest(field: field, message: Redaction.redacted(request.message))
                return try respond { () throws(SessionError) in try sessions.start(spec, request: echoed) }
            }
        }

        return RPCService("livekit.Egress", handlers: [
            "StartParticipantEgress": start(echoAs: "participant", EgressRequestDecoder.participant),
            "StartTrackCompositeEgress": start(echoAs: "track_composite", EgressRequestDecoder.trackComposite),
            "StartTrackEgress": start(echoAs: "track", EgressRequestDecoder.track),
            "StartEgress": start(echoAs: "egress", EgressRequestDecoder.unified),
            "StartRoomCompositeEgress": .unary { _ in throw RequestErrors.needsBrowser("room composite egress") },
            "StartWebEgress": .unary { _ in throw RequestErrors.needsBrowser("web egress") },
            "UpdateLayout": .unary { _ in throw RequestErrors.needsBrowser("UpdateLayout (room composite egress)") },

            "StopEgress": .unary { request in
                let id = try egressID(request.message)
                return try respond { () throws(SessionError) in try sessions.stop(id) }
            },
            "UpdateStream": .unary { request in
                let id = try egressID(request.message)
                let add = request.message.strings("add_output_urls") + request.message.messages("add_destinations").map { $0.string("url") }
                if let stream = sessions.record(id)?.spec.outputs.stream {
                    try OutputsDecoder.checkStreamURLs(add, for: stream.streamProtocol, field: "add_output_urls")
                }
                let remove = request.message.strings("remove_output_urls")
                guard remove.count <= StreamOutput.maxURLs else {
                    throw RequestErrors.invalidField("remove_output_urls", "\(remove.count) URLs; at most \(StreamOutput.maxURLs) are allowed")
                }
                return try respond { () throws(SessionError) in try sessions.updateStream(id, add: add, remove: remove) }
            },
            "ListEgress": .unary { request in
                let message = request.message
                let query = EgressQuery(
                    roomName: message.has("room_name") ? message.string("room_name") : nil,
                    egressID: message.has("egress_id") ? message.string("egress_id") : nil,
                    activeOnly: message.bool("active"),
                    pageToken: message.message("page_token")?.string("token"))
                let page = try mapped { () throws(SessionError) in try sessions.list(query) }
                var response = ProtoMessage("livekit.ListEgressResponse")
                response.set("items", page.records.map(EgressInfoEncoder.encode))
                if let next = page.nextPageToken {
                    var token = ProtoMessage("livekit.TokenPagination")
                    token.set("token", next)
                    response.set("next_page_token", token)
                }
                return ServerResponse(response)
            },
        ])
    }

    private static func egressID(_ message: ProtoMessage) throws(RPCError) -> String {
        let id = message.string("egress_id")
        guard !id.isEmpty else { throw RequestErrors.invalidField("egress_id") }
        return id
    }

    /// Runs a session-manager call and answers with the record as `EgressInfo`.
    private static func respond(_ call: () throws(SessionError) -> EgressRecord) throws(RPCError) -> ServerResponse {
        ServerResponse(EgressInfoEncoder.encode(try mapped(call)))
    }

    /// Runs a session-manager call, its refusal turned into the matching gRPC status.
    private static func mapped<T>(_ call: () throws(SessionError) -> T) throws(RPCError) -> T {
        do {
            return try call()
        } catch {
            throw error.rpcError
        }
    }
}

extension SessionError {
    /// The gRPC status of each refusal.
    var rpcError: RPCError {
        switch self {
        case .notFound: RPCError(.notFound, description)
        case .alreadyEnded, .wrongState: RPCError(.failedPrecondition, description)
        case .capacityExhausted: RPCError(.resourceExhausted, description)
        case .invalidPageToken: RequestErrors.invalidField("page_token", description)
        case .tooMany: RPCError(.invalidArgument, description)
        }
    }
}
