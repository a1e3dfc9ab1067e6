import Rooms
import Support

/// Rooms as CreateRoom makes them: settings kept, open until their timeouts; and the checks a
/// room name, identity and metadata get wherever they come from (RoomIngest, WHIP, CreateRoom).
extension RoomHub {
    /// Creates a room with `settings` (LiveKit's CreateRoom), or gives the existing one its new
    /// settings; the room then stays open until its timeouts, whoever comes and goes.
    public func createRoom(_ name: String, settings: RoomSettings) async throws -> HubRoom {
        try validate(room: name, identity: "-", name: "", metadata: settings.metadata)
        return try await onLoop {
            if var existing = self.rooms[name] {
                var updated = settings
                updated.hadParticipants = existing.settings?.hadParticipants ?? !existing.participants.isEmpty
                existing.settings = updated
                self.rooms[name] = existing
                return existing
            }
            guard self.rooms.count < self.configuration.maxRooms else {
                throw HubError.invalidArgument("the hub already has \(self.configuration.maxRooms) rooms")
            }
            var room = HubRoom(sid: RandomID.make(prefix: "RM_"), name: name, createdAt: WallClock.nanoseconds(), participants: [])
            room.settings = settings
            room.emptySince = room.createdAt
            self.rooms[name] = room
            self.logger.info("room created", metadata: ["room": "\(name)", "empty_timeout": "\(settings.emptyTimeout)"])
            return room
        }
    }

    /// Closes created rooms that stayed empty past their timeout: every subscriber (egress) of
    /// them ends, as when a room is deleted.
    func closeEmptyRooms() {
        let now = WallClock.nanoseconds()
        for room in rooms.values {
            guard let settings = room.settings, room.participants.isEmpty, let since = room.emptySince else { continue }
            let timeout = Int64(settings.hadParticipants ? settings.departureTimeout : settings.emptyTimeout) * 1_000_000_000
            guard now - since > timeout else { continue }
            logger.info("room closed: empty", metadata: ["room": "\(room.name)"])
            rooms[room.name] = nil
            emit(.roomDeleted(room.name), room: room.name)
        }
    }

    /// Refuses empty or overlong names and metadata, naming the field.
    func validate(room: String, identity: String, name: String, metadata: String) throws {
        guard !room.isEmpty else { throw HubError.invalidArgument("room is required") }
        guard !identity.isEmpty else { throw HubError.invalidArgument("identity is required") }
        let limit = configuration.maxNameLength
        for (field, value) in [("room", room), ("identity", identity), ("name", name)] where value.utf8.count > limit {
            throw HubError.invalidArgument("\(field) is \(value.utf8.count) bytes long; at most \(limit) are allowed")
        }
        guard metadata.utf8.count <= configuration.maxMetadataLength else {
            throw HubError.invalidArgument("metadata is \(metadata.utf8.count) bytes long; at most \(configuration.maxMetadataLength) are allowed")
        }
    }
}
