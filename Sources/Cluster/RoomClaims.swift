import Synchronization

/// This node's rooms as joins and the sweep of unused rooms take them: a room is not freed while
/// a participant joins it here, and a join waits for no sweep — it is refused while its room is
/// being freed (the client tries again, and the room is placed anew). Without it a room could be
/// freed in Redis between the sweep's look at the hub and the delete while a join put it in the
/// hub, and the next call would place it on another node too.
public final class RoomClaims: Sendable {
    private struct State {
        /// Joins under way, by room.
        var joining: [String: Int] = [:]
        var freeing: Set<String> = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Marks `rooms` as being freed, except those being joined; returns those marked.
    public func beginFreeing(_ rooms: [String]) -> [String] {
        state.withLock { state in
            let marked = rooms.filter { state.joining[$0] == nil }
            state.freeing.formUnion(marked)
            return marked
        }
    }

    public func endFreeing(_ rooms: [String]) {
        state.withLock { $0.freeing.subtract(rooms) }
    }

    /// Runs `join` with `room` held against freeing; throws `Freeing` at once if it is being freed.
    public func holding<T: Sendable>(_ room: String, _ join: () async throws -> T) async throws -> T {
        try state.withLock { state throws(Freeing) in
            guard !state.freeing.contains(room) else { throw Freeing(room: room) }
            state.joining[room, default: 0] += 1
        }
        defer {
            state.withLock { state in
                let left = (state.joining[room] ?? 1) - 1
                state.joining[room] = left > 0 ? left : nil
            }
        }
        return try await join()
    }

    /// A join refused: its room is being freed on this node.
    public struct Freeing: Error, Equatable {
        public let room: String
    }
}
