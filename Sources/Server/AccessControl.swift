import Auth
import RPC
import Support

/// Puts access tokens in front of the API services: every call carries
/// `authorization: Bearer <jwt>` signed with one of the server's API keys, and its `video`
/// grant must allow the method. A missing or bad token is UNAUTHENTICATED, a good token without
/// the grant PERMISSION_DENIED. Health stays open, as load balancers call it without tokens.
struct AccessControl: Sendable {
    let verifier: TokenVerifier

    init(keys: APIKeys) {
        verifier = TokenVerifier(keys: keys)
    }

    /// `service` with every call's token verified from its metadata before any of its request
    /// is read (UNAUTHENTICATED otherwise), the kind of grant `before(method)` names checked then
    /// too (a participant's token costs no decoding of an Egress request), and the grant checked
    /// for `permission(method, request)` once the request is decoded (the room and identity are
    /// in it).
    func protect(_ service: RPCService, _ permission: @escaping @Sendable (_ method: String, _ request: any Sendable) -> Permission,
                 before: @escaping @Sendable (_ method: String) -> Permission?) -> RPCService {
        service.admitting { [self] method, metadata in
            let token = try authenticate(metadata)
            do throws(AuthError) {
                try before(method)?.checkKind(token)
            } catch {
                throw RPCError(.permissionDenied, error.description)
            }
            return token
        }
            .checking { [self] request, context in
                let token = try context.admission as? AccessToken ?? authenticate(context.metadata)
                let scope = request as? any RoomScopedRequest
                do throws(AuthError) {
                    try permission(context.method.name, request).check(token, room: scope?.room ?? "", identity: scope?.participantIdentity ?? "")
                } catch {
                    throw RPCError(.permissionDenied, error.description)
                }
            }
    }

    /// `service` open to any caller with a valid token, whatever its grants (reflection).
    func requireToken(_ service: RPCService) -> RPCService {
        service.admitting { [self] metadata in try authenticate(metadata) }
    }

    /// The verified token of a call's `authorization` metadata, or UNAUTHENTICATED saying why.
    private func authenticate(_ metadata: Metadata) throws(RPCError) -> AccessToken {
        do throws(AuthError) {
            return try verifier.verify(authorization: metadata["authorization"], now: WallClock.nanoseconds() / 1_000_000_000)
        } catch {
            throw RPCError(error.isPermissionDenied ? .permissionDenied : .unauthenticated, error.description)
        }
    }

    /// The Egress API: `roomRecord`.
    static func egress(_ method: String, _ request: any Sendable) -> Permission { .roomRecord }
    static func egress(_ method: String) -> Permission? { .roomRecord }

    /// RoomService's grants do not depend on the request's contents, only their scope does.
    static func roomService(_ method: String) -> Permission? { roomService(method, ()) }

    /// Publishing needs `roomJoin` whatever the request; the stats' grant depends on it.
    static func ingest(_ method: String) -> Permission? { method == "GetIngestStats" ? nil : .roomJoin }

    /// RoomService: `roomList` to list rooms, `roomCreate` to create one, `roomCreate` (what
    /// LiveKit asks, and its SDKs sign) or `roomAdmin` for the room to delete one, `roomAdmin`
    /// for the room otherwise.
    static func roomService(_ method: String, _ request: any Sendable) -> Permission {
        switch method {
        case "ListRooms": .roomList
        case "CreateRoom": .roomCreate
        case "DeleteRoom": .roomCreateOrAdmin
        default: .roomAdmin
        }
    }

    /// Publishing: `roomJoin` as the participant; stats need `roomAdmin` for the room
    /// (`roomList` for every room).
    static func ingest(_ method: String, _ request: any Sendable) -> Permission {
        guard method == "GetIngestStats" else { return .roomJoin }
        return (request as? any RoomScopedRequest)?.room.isEmpty ?? true ? .roomList : .roomAdmin
    }
}
