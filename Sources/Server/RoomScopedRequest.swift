import APIMessages

/// A request that acts on one room, and on one participant of it when it names one: what an
/// access token's grant must be for. A room-scoped request type that does not adopt it is
/// checked as naming room "", which no room grant allows.
protocol RoomScopedRequest {
    var room: String { get }
    /// The participant the request acts as or on; "" when it names none.
    var participantIdentity: String { get }
}

extension RoomScopedRequest {
    var participantIdentity: String { "" }
}

extension RoomScopedRequest where Self: ParticipantScoped {
    var participantIdentity: String { identity }
}

/// The generated request types with an `identity` field naming the participant.
protocol ParticipantScoped {
    var identity: String { get }
}

// livekit.RoomService
extension Livekit_DeleteRoomRequest: RoomScopedRequest {}
extension Livekit_ListParticipantsRequest: RoomScopedRequest {}
extension Livekit_RoomParticipantIdentity: RoomScopedRequest, ParticipantScoped {}
extension Livekit_MuteRoomTrackRequest: RoomScopedRequest, ParticipantScoped {}

// egress.ingest.RoomIngest
extension Egress_Ingest_JoinRoomRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_PublishTrackRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_SetTrackMutedRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_UnpublishTrackRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_LeaveRoomRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_KeepAliveRequest: RoomScopedRequest, ParticipantScoped {}
extension Egress_Ingest_GetIngestStatsRequest: RoomScopedRequest {}
