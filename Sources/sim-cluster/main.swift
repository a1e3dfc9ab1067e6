import Placement
#if canImport(Glibc)
import Glibc
#endif

// The cluster's placement and failure logic at scale, on a simulated clock, without media or
// Redis: N nodes beat every second (a heartbeat, a refresh of their view of the nodes, a look
// for silent ones); egresses arrive at random nodes (a load balancer) and are placed with the
// servers' own NodeSelector from that node's view, which is as old as its last refresh; some
// nodes are killed and found by the others. Redis commands are counted as the servers issue
// them (RedisRecordStore, NodeRegistry, ClusterMember). Prints the figures.
//
// sim-cluster [--nodes 1000] [--egresses 100000] [--cores 32] [--seconds 600] [--kills 20] [--seed 1]

struct Options {
    var nodes = 1000
    var egresses = 100_000
    var cores = 48.0
    var share = 0.8
    var seconds = 600
    var kills = 20
    var seed: UInt64 = 1
    var heartbeatMs: Int64 = 1000
    var lostAfterMs: Int64 = 10_000
    var rampPerSecond = 1000.0
    var meanLifetimeSeconds = 1800.0
    /// How often a live egress's results alone are written (EgressStoreConfiguration.progressWriteInterval).
    var progressIntervalMs: Int64 = 10_000
    /// Egresses per room: a room's participants, each recorded.
    var egressesPerRoom = 4

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let text = iterator.next(), let value = Double(text), value.isFinite, value >= 0, value <= 1e9 else {
                fatalError("usage: sim-cluster [--nodes N] [--egresses N] [--cores N] [--seconds N] [--kills N] [--seed N]")
            }
            switch flag {
            case "--nodes": nodes = max(2, Int(value))
            case "--egresses": egresses = Int(value)
            case "--cores": cores = value
            case "--seconds": seconds = Int(value)
            case "--kills": kills = Int(value)
            case "--seed": seed = UInt64(value)
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

/// SplitMix64: the same run for the same seed.
struct Random: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func exponential(mean: Double) -> Double { -mean * Glibc.log(1 - Double.random(in: 0..<1, using: &self)) }
}

/// Redis commands as the servers issue them, by what they are for.
struct Commands {
    var counts: [String: Double] = [:]
    var viewBytes = 0.0
    mutating func add(_ kind: String, _ count: Double = 1) { counts[kind, default: 0] += count }
    var total: Double { counts.values.reduce(0, +) }
}

enum EventKind { case round(Int), arrival, departure(Int), kill }
struct Event: Comparable {
    let time: Int64
    let order: Int
    let kind: EventKind
    static func < (a: Event, b: Event) -> Bool { (a.time, a.order) < (b.time, b.order) }
    static func == (a: Event, b: Event) -> Bool { (a.time, a.order) == (b.time, b.order) }
}

/// A binary min-heap of events.
struct Queue {
    private var heap: [Event] = []
    private var order = 0
    var isEmpty: Bool { heap.isEmpty }
    mutating func push(_ time: Int64, _ kind: EventKind) {
        order += 1
        heap.append(Event(time: time, order: order, kind: kind))
        var child = heap.count - 1
        while child > 0, heap[child] < heap[(child - 1) / 2] { heap.swapAt(child, (child - 1) / 2); child = (child - 1) / 2 }
    }
    mutating func pop() -> Event {
        let top = heap[0]
        heap[0] = heap[heap.count - 1]
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left] < heap[smallest] { smallest = left }
            if right < heap.count, heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

let options = Options(CommandLine.arguments)
var random = Random(state: options.seed)
let capacity = options.cores * options.share
let costs = [(0.3, 0.7), (0.3, 0.1), (0.01, 0.2)]  // participant, track composite, track: (cores, share of egresses)

// The truth of each node, what the registry holds (published at heartbeats) and each node's view.
var truth = (0..<options.nodes).map { index in
    NodeRecord(id: "ND_\(index)", apiAddress: "10.0.\(index / 256).\(index % 256):7880", mediaAddress: "10.0.\(index / 256).\(index % 256):7882",
               cpuCapacity: capacity, startedAt: 0, heartbeatAt: 0)
}
var alive = Array(repeating: true, count: options.nodes)
var published = truth
var heartbeats = Array(repeating: Int64(0), count: options.nodes)
var registered = Array(repeating: true, count: options.nodes)
/// Snapshots of the registry every 100 ms; a view is the snapshot at its refresh.
var snapshotAt: Int64 = 0
/// The registry as of its last snapshot, and each node's view (a snapshot it shares).
var latestSnapshot = published
var views = Array(repeating: published, count: options.nodes)
/// Killed nodes not yet removed: the only ones that can be silent (the others beat every second).
var silentCandidates: Set<Int> = []
/// A node's record as HGETALL returns it (field and value), for the bytes the views read.
let recordBytes = Double({ var sample = truth[0]; sample.cpuUsed = 20.93; sample.liveEgresses = 100; sample.heartbeatAt = 1_800_000_000_000
                           return sample.encoded.utf8.count + sample.id.utf8.count + 8 }())
var sentToDeadNodes = 0
var leases: Set<Int> = []
var killedAt: [Int: Int64] = [:]
var detections: [(found: Double, cleaned: Int)] = []

var egressNode: [Int: (node: Int, cost: Double, room: Int)] = [:]
var nodeEgresses = Array(repeating: Set<Int>(), count: options.nodes)
var roomNode: [Int: Int] = [:]
let rooms = max(1, options.egresses / options.egressesPerRoom)
var nextEgress = 0, rejected = 0, placed = 0, awayFromRoom = 0
var commands = Commands()
var queue = Queue()

for node in 0..<options.nodes { queue.push(Int64.random(in: 0..<options.heartbeatMs, using: &random), .round(node)) }
queue.push(0, .arrival)
// The ramp: arrivals at rampPerSecond until the egresses are all live; then a minute to settle,
// then the measured steady state, with arrivals and departures balanced and some nodes killed.
var rampEnd: Int64?
var steadyStart = Int64.max, end = Int64.max

var lastTime: Int64 = 0
let steadyStartEstimate = Int64(Double(options.egresses) / options.rampPerSecond * 1000)
var measuring = false
var measured = Commands()
var liveSeconds = 0.0
var utilizationAtRampEnd: [Double] = []

@MainActor func utilization() -> [Double] { (0..<options.nodes).filter { alive[$0] }.map { truth[$0].cpuUsed / truth[$0].cpuCapacity }.sorted() }

@MainActor func end(egress: Int, lost: Bool) {
    guard let (node, cost, _) = egressNode.removeValue(forKey: egress) else { return }
    nodeEgresses[node].remove(egress)
    truth[node].cpuUsed = max(0, truth[node].cpuUsed - cost)
    truth[node].liveEgresses -= 1
    if lost {
        commands.add("take over a lost node's egress (HSET, ZADD, SREM, journal HSET)", 4)
    } else {
        commands.add("egress ending and ended (2 EVAL, SREM, 2 journal HSET)", 5)
        commands.add("journal entries delivered (HDEL)", 2)
        commands.add("MULTI/EXEC per write, before group commit", 4)
    }
}

while !queue.isEmpty {
    let event = queue.pop()
    guard event.time <= end else { break }
    if rampEnd == nil, egressNode.count >= options.egresses {
        rampEnd = event.time
        utilizationAtRampEnd = utilization()
        steadyStart = event.time + 60_000
        end = steadyStart + Int64(options.seconds) * 1000
        for _ in 0..<options.kills {
            queue.push(Int64.random(in: steadyStart..<max(steadyStart + 1, end - 2 * options.lostAfterMs), using: &random), .kill)
        }
    }
    // Progress: every live egress writes its results alone (one EVAL) every progressIntervalMs.
    let elapsed = Double(event.time - lastTime) / 1000
    commands.add("progress (EVAL)", Double(egressNode.count) * elapsed * 1000 / Double(options.progressIntervalMs))
    if measuring { liveSeconds += Double(egressNode.count) * elapsed }
    lastTime = event.time
    if !measuring, event.time >= steadyStart {
        measuring = true
        measured = commands
    }
    if event.time - snapshotAt >= 100 {
        latestSnapshot = (0..<options.nodes).filter { registered[$0] }.map { published[$0] }
        snapshotAt = event.time
    }
    switch event.kind {
    case .round(let node):
        guard alive[node] else { continue }
        queue.push(event.time + options.heartbeatMs, .round(node))
        // Heartbeat (one script), the view (HGETALL of every node's record), silent nodes.
        commands.add("heartbeat (EVAL)")
        commands.add("view of the nodes (HGETALL)")
        commands.viewBytes += Double(latestSnapshot.count) * recordBytes
        commands.add("silent nodes (ZRANGEBYSCORE)")
        if registered[node] {
            heartbeats[node] = event.time
            published[node] = truth[node]
            published[node].heartbeatAt = event.time
        }
        views[node] = latestSnapshot
        for other in silentCandidates.sorted() where registered[other] && other != node && heartbeats[other] < event.time - options.lostAfterMs {
            commands.add("lease (SET NX PX)")
            guard leases.insert(other).inserted else { continue }
            let lost = Array(nodeEgresses[other])
            commands.add("lost node's live egresses (SMEMBERS, HMGET each)", 1 + Double(lost.count))
            for egress in lost { end(egress: egress, lost: true) }
            commands.add("forget and remove the node (2 DEL, MULTI ZREM HDEL EXEC)", 6)
            registered[other] = false
            silentCandidates.remove(other)
            let found = Double(event.time - (killedAt[other] ?? event.time)) / 1000
            detections.append((found, lost.count))
        }
    case .arrival:
        let steady = rampEnd != nil
        let next = steady ? event.time + Int64(random.exponential(mean: options.meanLifetimeSeconds / Double(options.egresses)) * 1000)
                          : event.time + max(1, Int64(1000 / options.rampPerSecond))
        queue.push(max(event.time + 1, next), .arrival)
        // A random live node takes the request and decides from its view.
        var decider = Int.random(in: 0..<options.nodes, using: &random)
        while !alive[decider] { decider = Int.random(in: 0..<options.nodes, using: &random) }
        // What it knows: every node registered at its last refresh, dead ones not yet found too.
        var view = views[decider]
        let index = { (record: NodeRecord) in Int(record.id.dropFirst(3)) ?? 0 }
        let room = Int.random(in: 0..<rooms, using: &random)
        if roomNode[room].map({ !alive[$0] }) ?? true {
            guard let chosen = NodeSelector.nodeForRoom(among: view.filter { alive[index($0)] }, using: &random) else { rejected += 1; continue }
            roomNode[room] = index(chosen)
        }
        let draw = Double.random(in: 0..<1, using: &random)
        let cost = draw < 0.7 ? costs[0].0 : draw < 0.8 ? costs[1].0 : costs[2].0
        var target = NodeSelector.nodeForEgress(cost: cost, among: view, roomNode: roomNode[room].map { "ND_\($0)" }, using: &random)
        if let chosen = target, !alive[index(chosen)] {
            // A node that died and is not found yet: the call to it fails; the next best is tried.
            sentToDeadNodes += 1
            view.removeAll { $0.id == chosen.id }
            target = NodeSelector.nodeForEgress(cost: cost, among: view, roomNode: roomNode[room].map { "ND_\($0)" }, using: &random)
        }
        guard let target, let node = Optional(index(target)), alive[node] else {
            rejected += 1
            continue
        }
        placed += 1
        if node != roomNode[room] { awayFromRoom += 1 }
        let id = nextEgress
        nextEgress += 1
        egressNode[id] = (node, cost, room)
        nodeEgresses[node].insert(id)
        truth[node].cpuUsed += cost
        truth[node].liveEgresses += 1
        commands.add("egress start and ACTIVE (HSET, ZADD, SADD, EVAL, 2 journal HSET)", 6)
        commands.add("journal entries delivered (HDEL)", 2)
        commands.add("MULTI/EXEC per write, before group commit", 4)
        // Lifetimes from when the steady state begins for the ramp's egresses, so that they end spread out.
        let from = max(event.time, rampEnd ?? steadyStartEstimate)
        queue.push(from + Int64(random.exponential(mean: options.meanLifetimeSeconds) * 1000), .departure(id))
    case .departure(let egress):
        guard let (node, _, _) = egressNode[egress], alive[node] else { continue }
        end(egress: egress, lost: false)
    case .kill:
        var victim = Int.random(in: 0..<options.nodes, using: &random)
        while !alive[victim] { victim = Int.random(in: 0..<options.nodes, using: &random) }
        alive[victim] = false
        killedAt[victim] = event.time
        silentCandidates.insert(victim)
    }
}

func describe(_ values: [Double]) -> String {
    guard !values.isEmpty else { return "none" }
    let mean = values.reduce(0, +) / Double(values.count)
    let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    let p = { (q: Double) in values[min(values.count - 1, Int(q * Double(values.count)))] }
    return String(format2(mean * 100)) + " % mean, " + format2(deviation * 100) + " % deviation, min " + format2(values[0] * 100)
        + " %, p99 " + format2(p(0.99) * 100) + " %, max " + format2(values[values.count - 1] * 100) + " %"
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    let whole = Int(scaled), fraction = Int(((scaled - Double(whole)) * 100).rounded().magnitude)
    return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}

let seconds = Double(min(end, lastTime) - steadyStart) / 1000
var steady = Commands()
for (kind, count) in commands.counts { steady.counts[kind] = count - (measured.counts[kind] ?? 0) }
steady.viewBytes = commands.viewBytes - measured.viewBytes
let liveMean = liveSeconds / seconds
print("sim-cluster: \(options.nodes) nodes of \(format2(capacity)) cores for egresses, \(options.egresses) egresses live "
    + "(\(rooms) rooms), heartbeat \(options.heartbeatMs) ms, lost after \(options.lostAfterMs) ms, \(options.seconds) s measured, seed \(options.seed)")
print("placement: \(placed) placed, \(rejected) refused (no node with room in the deciding node's view), \(sentToDeadNodes) first sent to a killed node not found yet, "
    + "\(format2(Double(awayFromRoom) / Double(max(1, placed)) * 100)) % away from their room's node (relayed)")
print("CPU in use per node at the end of the ramp: \(describe(utilizationAtRampEnd))")
let final = utilization()
print("CPU in use per node at the end: \(describe(final)); \(final.filter { $0 > 1 }.count) nodes over capacity")
print("Redis commands per second (steady state, \(format2(liveMean)) egresses live on average):")
for (kind, count) in steady.counts.sorted(by: { $0.value > $1.value }) {
    print("  \(format2(count / seconds).leftPadded(12))  \(kind)")
}
let perSecond = steady.total / seconds
let withoutMultiExec = perSecond - (steady.counts["MULTI/EXEC per write, before group commit"] ?? 0) / seconds
print("  \(format2(perSecond).leftPadded(12))  in all (\(format2(withoutMultiExec)) without MULTI/EXEC, which group commit shares)")
print("  per node: \(format2(perSecond / Double(options.nodes))) commands/s; per live egress: \(format2(perSecond / max(1, liveMean))) commands/s")
print("  views: \(format2(steady.viewBytes / seconds / 1_048_576)) MiB/s of node records read (HGETALL by every node every heartbeat)")
let found = detections.map(\.found).sorted()
if !found.isEmpty {
    print("lost nodes: \(detections.count) killed; found and cleaned after \(format2(found[0]))–\(format2(found[found.count - 1])) s "
        + "(mean \(format2(found.reduce(0, +) / Double(found.count))) s); \(detections.map(\.cleaned).reduce(0, +)) egresses ended FAILED, "
        + "\(format2(Double(detections.map(\.cleaned).reduce(0, +)) / Double(detections.count))) per node")
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
