import Placement
import Testing

/// Rooms go to the least loaded node; egresses to the room's node when it has room for them,
/// else where the most CPU is free; draining nodes take nothing.
@Suite struct NodeSelectorTests {
    func node(_ id: String, capacity: Double = 2, used: Double = 0, live: Int = 0, draining: Bool = false) -> NodeRecord {
        NodeRecord(id: id, apiAddress: "127.0.0.1:1", mediaAddress: "127.0.0.1:2", cpuCapacity: capacity, cpuUsed: used,
                   liveEgresses: live, draining: draining, startedAt: 0, heartbeatAt: 0)
    }

    @Test func aRoomGoesToTheLessLoadedOfTwoDrawnAndNeverToADrainingNode() {
        var random = SystemRandomNumberGenerator()
        let two = [node("a", capacity: 8, used: 2), node("b", capacity: 2, used: 1)]
        for _ in 0..<50 { #expect(NodeSelector.nodeForRoom(among: two, using: &random)?.id == "a") }  // 25 % against 50 %
        #expect(NodeSelector.nodeForRoom(among: [node("x", live: 3), node("y", live: 1)], using: &random)?.id == "y")
        #expect(NodeSelector.nodeForRoom(among: [node("z", draining: true)], using: &random) == nil)
        // Among many, the most loaded loses every draw, and the choices spread over the others.
        let many = (0..<10).map { node("n\($0)", used: Double($0) / 10) } + [node("draining", draining: true)]
        var chosen: [String: Int] = [:]
        for _ in 0..<2000 { chosen[NodeSelector.nodeForRoom(among: many, using: &random)?.id ?? "none", default: 0] += 1 }
        #expect(chosen["n9"] == nil && chosen["draining"] == nil && chosen["none"] == nil)
        #expect(chosen.count == 9 && chosen["n0", default: 0] > chosen["n8", default: 0])
    }

    @Test func anEgressStaysOnTheRoomsNodeWhenItFitsElseGoesWhereMoreIsFree() {
        var random = SystemRandomNumberGenerator()
        let nodes = [node("room", capacity: 2, used: 1.5), node("big", capacity: 8, used: 4), node("small", capacity: 2, used: 0.5)]
        for _ in 0..<50 {
            #expect(NodeSelector.nodeForEgress(cost: 0.3, among: nodes, roomNode: "room", using: &random)?.id == "room")
            // The room's node is full for it: big (4 free) and small (1.5 free) have room; big wins any draw of the two.
            #expect(NodeSelector.nodeForEgress(cost: 1.0, among: nodes, roomNode: "room", using: &random)?.id == "big")
        }
        #expect(NodeSelector.nodeForEgress(cost: 5, among: nodes, roomNode: "room", using: &random) == nil)
        #expect(NodeSelector.nodeForEgress(cost: 0.3, among: [node("d", draining: true)], roomNode: "d", using: &random) == nil)
    }

    @Test func anEgressNoNodeHasRoomForGoesToTheRoomsNodeIfItCouldEverTakeItElseTheLargest() {
        let full = [node("room", capacity: 1.6, used: 1.6), node("big", capacity: 8, used: 8), node("off", capacity: 16, draining: true)]
        #expect(NodeSelector.nodeForEgressWhenFull(cost: 0.3, among: full, roomNode: "room")?.id == "room")
        // The room's node could never hold it (its capacity is below the cost): the largest open node.
        let tiny = [node("room", capacity: 0.02, used: 0.02)] + full.dropFirst()
        #expect(NodeSelector.nodeForEgressWhenFull(cost: 0.3, among: tiny, roomNode: "room")?.id == "big")
        #expect(NodeSelector.nodeForEgressWhenFull(cost: 0.3, among: [node("a", capacity: 2), node("b", capacity: 2)], roomNode: nil)?.id == "a")
        #expect(NodeSelector.nodeForEgressWhenFull(cost: 0.3, among: [node("off", draining: true)], roomNode: "off") == nil)
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
