/// A server of the cluster as the registry knows it: where to reach it and how busy it is. Each
/// node writes its own at every heartbeat; the others read it to place rooms and egresses.
public struct NodeRecord: Sendable, Equatable {
    public var id: String
    /// host:port of its API (node-to-node calls go there).
    public var apiAddress: String
    /// host:port of its UDP media port.
    public var mediaAddress: String
    /// Cores it may fill with egresses (`max_cpu_utilization` × its cores).
    public var cpuCapacity: Double
    /// Cores in use: what its egresses cost, or what the machine measures, whichever is more.
    public var cpuUsed: Double
    public var liveEgresses: Int
    /// Draining (SIGTERM): it takes no new rooms or egresses.
    public var draining: Bool
    /// When it started and when it last said it is alive, in milliseconds since 1970.
    public var startedAt: Int64
    public var heartbeatAt: Int64

    public init(id: String, apiAddress: String, mediaAddress: String, cpuCapacity: Double, cpuUsed: Double = 0,
                liveEgresses: Int = 0, draining: Bool = false, startedAt: Int64, heartbeatAt: Int64) {
        self.id = id
        self.apiAddress = apiAddress
        self.mediaAddress = mediaAddress
        self.cpuCapacity = cpuCapacity
        self.cpuUsed = cpuUsed
        self.liveEgresses = liveEgresses
        self.draining = draining
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
    }

    /// Cores left for new egresses.
    public var cpuAvailable: Double { max(0, cpuCapacity - cpuUsed) }

    public static let maxLength = 1024

    /// The record as stored: tab-separated fields after a version, none of which may hold a tab.
    public var encoded: String {
        ["n1", id, apiAddress, mediaAddress, "\(cpuCapacity)", "\(cpuUsed)", "\(liveEgresses)", draining ? "1" : "0",
         "\(startedAt)", "\(heartbeatAt)"].joined(separator: "\t")
    }

    /// Reads a stored record; nil when it is not one (another version, damaged, too long).
    public init?(encoded: String) {
        guard encoded.utf8.count <= Self.maxLength else { return nil }
        let fields = encoded.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 10, fields[0] == "n1", !fields[1].isEmpty,
              let capacity = Double(fields[4]), capacity.isFinite, capacity >= 0,
              let used = Double(fields[5]), used.isFinite, used >= 0,
              let live = Int(fields[6]), live >= 0, fields[7] == "0" || fields[7] == "1",
              let started = Int64(fields[8]), let heartbeat = Int64(fields[9]) else { return nil }
        self.init(id: fields[1], apiAddress: fields[2], mediaAddress: fields[3], cpuCapacity: capacity, cpuUsed: used,
                  liveEgresses: live, draining: fields[7] == "1", startedAt: started, heartbeatAt: heartbeat)
    }
}
