import Redis
import RedisTestServer
import Testing
@testable import Cluster

/// Room placement on a real redis-server: a room is placed once (the first placement wins),
/// freed only by its node, and a node's rooms are freed together when it is gone.
@Suite(.serialized) struct RoomDirectoryTests {
    @Test func theFirstPlacementWinsAndOnlyTheHostFreesTheRoom() throws {
        let server = try RedisServer()
        let rooms = RoomDirectory(redis: RedisClient(endpoint: server.endpoint))
        #expect(try rooms.node(of: "lobby") == nil)
        #expect(try rooms.place("lobby", on: "ND_a", now: 1_000) == "ND_a")
        #expect(try rooms.place("lobby", on: "ND_b", now: 2_000) == "ND_a")
        #expect(try rooms.node(of: "lobby") == "ND_a")
        #expect(try rooms.rooms(of: "ND_b").isEmpty)
        try rooms.free("lobby", of: "ND_b")  // not its room: nothing happens
        #expect(try rooms.node(of: "lobby") == "ND_a")
        // Room names are bytes of the client's: braces and spaces too.
        #expect(try rooms.place("a {b} c", on: "ND_a", now: 3_000) == "ND_a")
        #expect(try rooms.rooms(of: "ND_a", placedBefore: 2_000) == ["lobby"])
        #expect(try rooms.rooms(of: "ND_a").sorted() == ["a {b} c", "lobby"])
        try rooms.free("lobby", of: "ND_a")
        #expect(try rooms.node(of: "lobby") == nil)
        #expect(try rooms.place("lobby", on: "ND_b", now: 4_000) == "ND_b")
    }

    @Test func aGoneNodesRoomsAreFreedTogether() throws {
        let server = try RedisServer()
        let rooms = RoomDirectory(redis: RedisClient(endpoint: server.endpoint))
        for n in 0..<1_500 { _ = try rooms.place("room-\(n)", on: "ND_lost", now: Int64(n)) }
        _ = try rooms.place("kept", on: "ND_alive", now: 0)
        try rooms.freeAll(of: "ND_lost")
        #expect(try rooms.node(of: "room-0") == nil && rooms.node(of: "room-1499") == nil)
        #expect(try rooms.rooms(of: "ND_lost").isEmpty)
        #expect(try rooms.node(of: "kept") == "ND_alive")
    }
}
