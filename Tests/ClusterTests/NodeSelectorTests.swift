import Testing
@testable import Cluster

/// Rooms go to the least loaded node; egresses to the room's node when it has room for them,
/// else where the most CPU is free; draining nodes take nothing.
@Suite struct NodeSelectorTests {
    func node(_ id: String, capacity: Double = 2, used: Double = 0, live: Int = 0, draining: Bool = false) -> NodeRecord {
        NodeRecord(id: id, apiAddress: "127.0.0.1:1", mediaAddress: "127.0.0.1:2", cpuCapacity: capacity, cpuUsed: used,
                   liveEgresses: live, draining: draining, startedAt: 0, heartbeatAt: 0)
    }

    @Test func aRoomGoesToTheNodeWithTheLeastOfItsCapacityInUse() {
        let nodes = [node("a", capacity: 8, used: 2), node("b", capacity: 2, used: 1), node("c", capacity: 4, used: 0.5, draining: true)]
        #expect(NodeSelector.nodeForRoom(among: nodes)?.id == "a")  // 25 % against 50 %; c drains
        #expect(NodeSelector.nodeForRoom(among: [node("x", live: 3), node("y", live: 1)])?.id == "y")
        #expect(NodeSelector.nodeForRoom(among: [node("z", draining: true)]) == nil)
    }

    @Test func anEgressStaysOnTheRoomsNodeWhenItFitsElseGoesWhereTheMostIsFree() {
        let nodes = [node("room", capacity: 2, used: 1.5), node("big", capacity: 8, used: 4), node("small", capacity: 2, used: 0)]
        #expect(NodeSelector.nodeForEgress(cost: 0.3, among: nodes, roomNode: "room")?.id == "room")
        #expect(NodeSelector.nodeForEgress(cost: 1.0, among: nodes, roomNode: "room")?.id == "big")
        #expect(NodeSelector.nodeForEgress(cost: 5, among: nodes, roomNode: "room") == nil)
        #expect(NodeSelector.nodeForEgress(cost: 0.3, among: [node("d", draining: true)], roomNode: "d") == nil)
    }

    @Test(arguments: ["", "n1\ta", "n2\ta\tb\tc\t1\t0\t0\t0\t1\t2", "n1\ta\tb\tc\tnan\t0\t0\t0\t1\t2",
                      "n1\ta\tb\tc\t1\t-1\t0\t0\t1\t2", "n1\ta\tb\tc\t1\t0\t0\t2\t1\t2", "n1\t\tb\tc\t1\t0\t0\t0\t1\t2",
                      "n1\ta\tb\tc\t1\t0\t0\t0\t1\t" + String(repeating: "9", count: 2000)])
    func aDamagedRecordIsNotRead(_ text: String) {
        #expect(NodeRecord(encoded: text) == nil)
    }

    @Test func aRecordReadsBackAsWritten() {
        let record = node("ND_x", capacity: 1.6, used: 0.9, live: 3, draining: true)
        #expect(NodeRecord(encoded: record.encoded) == record)
    }
}
