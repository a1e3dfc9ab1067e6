/// What a method asks of its caller's `video` grant, LiveKit's rules.
public enum Permission: Sendable, Equatable {
    /// `roomRecord`: the Egress API.
    case roomRecord
    /// `roomList`: listing rooms.
    case roomList
    /// `roomAdmin` for the request's room (`room` in the grant equal to it).
    case roomAdmin
    /// `roomJoin` for the request's room, as the request's participant (`sub` equal to its identity).
    case roomJoin
    /// `roomCreate` (any room), or `roomAdmin` for the request's room: deleting a room.
    case roomCreateOrAdmin
    /// `roomCreate`: creating a room (any name).
    case roomCreate

    /// Throws `.permissionDenied` when `token` lacks this kind of grant altogether, whatever
    /// room or identity a request names: checked on a call's head, before its body is read.
    public func checkKind(_ token: AccessToken) throws(AuthError) {
        let grant = token.video
        switch self {
        case .roomRecord: guard grant.roomRecord else { throw .permissionDenied("the token has no roomRecord grant") }
        case .roomList: guard grant.roomList else { throw .permissionDenied("the token has no roomList grant") }
        case .roomCreate: guard grant.roomCreate else { throw .permissionDenied("the token has no roomCreate grant") }
        case .roomAdmin: guard grant.roomAdmin else { throw .permissionDenied("the token has no roomAdmin grant") }
        case .roomJoin: guard grant.roomJoin else { throw .permissionDenied("the token has no roomJoin grant") }
        case .roomCreateOrAdmin:
            guard grant.roomCreate || grant.roomAdmin else {
                throw .permissionDenied("the token has neither a roomCreate nor a roomAdmin grant")
            }
        }
    }

    /// Throws `.permissionDenied` naming what is missing when `token` does not allow the call.
    public func check(_ token: AccessToken, room: String, identity: String) throws(AuthError) {
        try checkKind(token)
        let grant = token.video
        switch self {
        case .roomRecord, .roomList, .roomCreate:
            return
        case .roomAdmin:
            guard grant.room == room else {
                throw .permissionDenied("the token's roomAdmin grant is for room \"\(grant.room)\", not \"\(room)\"")
            }
        case .roomCreateOrAdmin:
            guard !grant.roomCreate else { return }
            try Permission.roomAdmin.check(token, room: room, identity: identity)
        case .roomJoin:
            guard grant.room == room else {
                throw .permissionDenied("the token's roomJoin grant is for room \"\(grant.room)\", not \"\(room)\"")
            }
            guard token.identity == identity else {
                throw .permissionDenied("the token is for identity \"\(token.identity)\", not \"\(identity)\"")
            }
        }
    }
}
