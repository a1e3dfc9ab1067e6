/// Where rooms and egresses go, from the nodes' records alone (no I/O: the simulation and the
/// servers use the same choices).
public enum NodeSelector {
    /// The node for a new room: the one with the least of its capacity in use, among those not
    /// draining (ties to the one with fewer live egresses, then by id, so that every node
    /// choosing from the same view chooses alike).
    public static func nodeForRoom(among nodes: [NodeRecord]) -> NodeRecord? {
        nodes.filter { !$0.draining && $0.cpuCapacity > 0 }.min { a, b in
            let (loadA, loadB) = (a.cpuUsed / a.cpuCapacity, b.cpuUsed / b.cpuCapacity)
            if loadA != loadB { return loadA < loadB }
            if a.liveEgresses != b.liveEgresses { return a.liveEgresses < b.liveEgresses }
            return a.id < b.id
        }
    }

    /// The node for an egress of `cost` cores: the room's node if it has room for it (no relay
    /// needed), else the node with the most cores available that has room; nil when none has.
    public static func nodeForEgress(cost: Double, among nodes: [NodeRecord], roomNode: String?) -> NodeRecord? {
        let fitting = nodes.filter { !$0.draining && $0.cpuAvailable >= cost }
        if let roomNode, let preferred = fitting.first(where: { $0.id == roomNode }) { return preferred }
        return fitting.max { a, b in
            if a.cpuAvailable != b.cpuAvailable { return a.cpuAvailable < b.cpuAvailable }
            return a.id > b.id
        }
    }
}
