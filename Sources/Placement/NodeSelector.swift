/// Where rooms and egresses go, from the nodes' records alone (no I/O: the servers and the
/// simulation make the same choices).
///
/// Each choice is the better of two candidates drawn at random (the power of two choices), not
/// the best of all: a node's view of the others is up to a heartbeat old, and with every node
/// taking the least loaded one, all the placements of that second land on one node
/// (`Scripts/sim-cluster` found one node at 836 % of its capacity that way); two random draws
/// spread them and still keep the load even.
public enum NodeSelector {
    /// The node for a new room: of two drawn among those not draining, the one with the lesser
    /// share of its capacity in use.
    public static func nodeForRoom(among nodes: [NodeRecord], using random: inout some RandomNumberGenerator) -> NodeRecord? {
        better(of: nodes.filter { !$0.draining && $0.cpuCapacity > 0 }, using: &random) { a, b in
            let (loadA, loadB) = (a.cpuUsed / a.cpuCapacity, b.cpuUsed / b.cpuCapacity)
            return loadA != loadB ? loadA < loadB : a.liveEgresses < b.liveEgresses
        }
    }

    /// The node for an egress of `cost` cores: the room's node if it has room for it (no relay
    /// needed), else, of two drawn among those with room, the one with more cores available;
    /// nil when none has room.
    public static func nodeForEgress(cost: Double, among nodes: [NodeRecord], roomNode: String?,
                                     using random: inout some RandomNumberGenerator) -> NodeRecord? {
        let fitting = nodes.filter { !$0.draining && $0.cpuAvailable >= cost }
        if let roomNode, let preferred = fitting.first(where: { $0.id == roomNode }) { return preferred }
        return better(of: fitting, using: &random) { $0.cpuAvailable > $1.cpuAvailable }
    }

    /// The node for an egress no node has room for now (`nodeForEgress` found none): the room's
    /// node if the egress fits its capacity at all (its own admission then decides, and an idle
    /// node takes any one), else the node with the largest capacity; nil when none is up.
    public static func nodeForEgressWhenFull(cost: Double, among nodes: [NodeRecord], roomNode: String?) -> NodeRecord? {
        let open = nodes.filter { !$0.draining }
        if let roomNode, let preferred = open.first(where: { $0.id == roomNode }), preferred.cpuCapacity >= cost { return preferred }
        return open.max { $0.cpuCapacity != $1.cpuCapacity ? $0.cpuCapacity < $1.cpuCapacity : $0.id > $1.id }
    }

    /// Of two candidates drawn at random (distinct when there are two or more), the one that
    /// `isBetter` prefers.
    static func better(of candidates: [NodeRecord], using random: inout some RandomNumberGenerator,
                       _ isBetter: (NodeRecord, NodeRecord) -> Bool) -> NodeRecord? {
        guard !candidates.isEmpty else { return nil }
        let first = Int.random(in: 0..<candidates.count, using: &random)
        guard candidates.count > 1 else { return candidates[first] }
        var second = Int.random(in: 0..<candidates.count - 1, using: &random)
        if second >= first { second += 1 }
        return isBetter(candidates[second], candidates[first]) ? candidates[second] : candidates[first]
    }
}
