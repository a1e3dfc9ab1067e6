import Auth
import Protobuf
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

    /// `service` with every method checked for `permission(method)`.
    func protect(_ service: RPCService, _ permission: @escaping @Sendable (_ method: String, _ request: ProtoMessage) -> Permission) -> RPCService {
        service.checking { [verifier] request in
            do throws(AuthError) {
                let token = try verifier.verify(authorization: request.metadata["authorization"], now: WallClock.nanoseconds() / 1_000_000_000)
                let message = request.message
                let room = message.descriptor.field(named: "room") != nil ? message.string("room") : ""
                let identity = message.descriptor.field(named: "identity") != nil ? message.string("identity") : ""
                try permission(request.context.method.name, message).check(token, room: room, identity: identity)
            } catch {
                throw RPCError(error.isPermissionDenied ? .permissionDenied : .unauthenticated, error.description)
            }
        }
    }

    /// The Egress API: `roomRecord`.
    static func egress(_ method: String, _ request: ProtoMessage) -> Permission { .roomRecord }

    /// RoomService: `roomList` to list rooms, `roomAdmin` for the room otherwise.
    static func roomService(_ method: String, _ request: ProtoMessage) -> Permission {
        method == "ListRooms" ? .roomList : .roomAdmin
    }

    /// Publishing: `roomJoin` as the participant; stats need `roomAdmin` for the room
    /// (`roomList` for every room).
    static func ingest(_ method: String, _ request: ProtoMessage) -> Permission {
        guard method == "GetIngestStats" else { return .roomJoin }
        return request.string("room").isEmpty ? .roomList : .roomAdmin
    }
}
