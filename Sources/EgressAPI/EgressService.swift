import APIMessages
import APIServices
import EgressWire
import RPC
import SessionManager

/// `livekit.Egress`: every RPC of LiveKit's Egress service, answered over the session manager.
public struct EgressService: Livekit_Egress.ServiceProtocol {
    let sessions: EgressStore
    let configuration: EgressAPIConfiguration
    private let decoder: EgressRequestDecoder

    public init(sessions: EgressStore, configuration: EgressAPIConfiguration) {
        self.sessions = sessions
        self.configuration = configuration
        decoder = EgressRequestDecoder(configuration: configuration)
    }

    // MARK: Starting

    public func startParticipantEgress(request: Livekit_ParticipantEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let spec = try decoder.participant(request)
        return try await start(spec, echo: .init(kind: .participant, encoded: Redaction.redacted(request).wireBytes()))
    }

    public func startTrackCompositeEgress(request: Livekit_TrackCompositeEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let spec = try decoder.trackComposite(request)
        return try await start(spec, echo: .init(kind: .trackComposite, encoded: Redaction.redacted(request).wireBytes()))
    }

    public func startTrackEgress(request: Livekit_TrackEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let spec = try decoder.track(request)
        return try await start(spec, echo: .init(kind: .track, encoded: Redaction.redacted(request).wireBytes()))
    }

    public func startEgress(request: Livekit_StartEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let spec = try decoder.unified(request)
        return try await start(spec, echo: .init(kind: .unified, encoded: Redaction.redacted(request).wireBytes()))
    }

    public func startRoomCompositeEgress(request: Livekit_RoomCompositeEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        throw RequestErrors.needsBrowser("room composite egress")
    }

    public func startWebEgress(request: Livekit_WebEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        throw RequestErrors.needsBrowser("web egress")
    }

    public func updateLayout(request: Livekit_UpdateLayoutRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        throw RequestErrors.needsBrowser("UpdateLayout (room composite egress)")
    }

    // MARK: What a request asks for, started nowhere (a cluster places it first)

    public func spec(_ request: Livekit_ParticipantEgressRequest) throws -> EgressSpec { try decoder.participant(request) }
    public func spec(_ request: Livekit_TrackCompositeEgressRequest) throws -> EgressSpec { try decoder.trackComposite(request) }
    public func spec(_ request: Livekit_TrackEgressRequest) throws -> EgressSpec { try decoder.track(request) }
    public func spec(_ request: Livekit_StartEgressRequest) throws -> EgressSpec { try decoder.unified(request) }

    // MARK: Egresses the server starts itself (CreateRoom's auto egress)

    /// Checks a request as StartParticipantEgress would, starting nothing.
    public func check(_ request: Livekit_ParticipantEgressRequest) throws { _ = try decoder.participant(request) }
    /// Checks a request as StartTrackEgress would, starting nothing.
    public func check(_ request: Livekit_TrackEgressRequest) throws { _ = try decoder.track(request) }

    public func start(_ request: Livekit_ParticipantEgressRequest) async throws -> Livekit_EgressInfo {
        try await start(try decoder.participant(request), echo: .init(kind: .participant, encoded: Redaction.redacted(request).wireBytes()))
    }

    public func start(_ request: Livekit_TrackEgressRequest) async throws -> Livekit_EgressInfo {
        try await start(try decoder.track(request), echo: .init(kind: .track, encoded: Redaction.redacted(request).wireBytes()))
    }

    /// The Start* methods: each egress keeps its request to echo it.
    public static let startMethods: Set<String> = [
        "StartParticipantEgress", "StartTrackCompositeEgress", "StartTrackEgress", "StartEgress",
        "StartRoomCompositeEgress", "StartWebEgress",
    ]

    /// The service, with a Start* request over `maxStartRequestSize` refused before it is
    /// decoded (a small body can decode into much: JSON's `[{},{},…]`).
    public var limitedService: RPCService { limiting(rpcService) }

    /// `service` (this one, or one in front of it) with this one's limit on Start* requests.
    public func limiting(_ service: RPCService) -> RPCService {
        let limit = configuration.maxStartRequestSize
        return service.refusingRequests(over: limit, for: Self.startMethods) { size in
            RPCError.invalidArgument("request of \(size) bytes is larger than the \(limit) bytes an egress request may have")
        }
    }

    private func start(_ spec: EgressSpec, echo: EgressRecord.EchoedRequest) async throws(EgressStoreError) -> Livekit_EgressInfo {
        Livekit_EgressInfo(try await sessions.start(spec, request: echo))
    }

    // MARK: Running egresses

    public func stopEgress(request: Livekit_StopEgressRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let id = try egressID(request.egressId)
        return Livekit_EgressInfo(try await sessions.stop(id))
    }

    public func updateStream(request: Livekit_UpdateStreamRequest, context: ServerContext) async throws -> Livekit_EgressInfo {
        let id = try egressID(request.egressId)
        var add = request.addOutputUrls + request.addDestinations.map(\.url)
        if let stream = sessions.record(id)?.spec.outputs.stream {
            add = try OutputsDecoder.streamURLs(add, for: stream.streamProtocol, field: "add_output_urls")
        }
        guard request.removeOutputUrls.count <= StreamOutput.maxURLs else {
            throw RequestErrors.invalidField("remove_output_urls", "\(request.removeOutputUrls.count) URLs; at most \(StreamOutput.maxURLs) are allowed")
        }
        // Named as they were added: a shortcut is the URL it expanded to.
        let remove = request.removeOutputUrls.map(StreamKey.expanded)
        return Livekit_EgressInfo(try await sessions.updateStream(id, add: add, remove: remove))
    }

    public func listEgress(request: Livekit_ListEgressRequest, context: ServerContext) async throws -> Livekit_ListEgressResponse {
        Self.response(try sessions.list(Self.query(request)))
    }

    /// ListEgress's filter and page.
    public static func query(_ request: Livekit_ListEgressRequest) -> EgressQuery {
        EgressQuery(roomName: request.roomName.isEmpty ? nil : request.roomName,
                    egressID: request.egressId.isEmpty ? nil : request.egressId,
                    activeOnly: request.active,
                    pageToken: request.pageToken?.token)
    }

    /// ListEgress's answer for one page.
    public static func response(_ page: EgressPage) -> Livekit_ListEgressResponse {
        var response = Livekit_ListEgressResponse()
        response.items = page.records.map(Livekit_EgressInfo.init)
        if let next = page.nextPageToken {
            var token = Livekit_TokenPagination()
            token.token = next
            response.nextPageToken = token
        }
        return response
    }

    private func egressID(_ id: String) throws(RPCError) -> String {
        guard !id.isEmpty else { throw RequestErrors.invalidField("egress_id") }
        return id
    }
}

extension EgressStoreError: RPCErrorConvertible {
    /// The gRPC status of each refusal.
    public var rpcError: RPCError {
        switch self {
        case .notFound, .streamNotFound: RPCError(.notFound, description)
        case .notStreaming: RPCError(.invalidArgument, description)
        case .alreadyEnded, .wrongState: RPCError(.failedPrecondition, description)
        case .capacityExhausted, .notEnoughCPU: RPCError(.resourceExhausted, description)
        case .shuttingDown: RPCError(.unavailable, description)
        case .invalidPageToken: RequestErrors.invalidField("page_token", description)
        case .tooMany: RPCError(.invalidArgument, description)
        // The store's own words (its path, SQLite's reason) are for the operator's log, not clients.
        case .storageFailed: RPCError(.unavailable, "the egress server cannot store egress records right now; nothing was changed")
        }
    }
}
