import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The machine's CPU in use, in cores, from `/proc/stat`: the busy share of all CPU time between
/// two readings at least `interval` apart, read when asked (no thread of its own). Before the
/// second reading, and where `/proc/stat` cannot be read, it says 0.
public final class MachineCPU: Sendable {
    public let cores: Int
    private let interval: Int64
    private let state = Mutex(State())

    private struct State {
        var last: (busy: UInt64, total: UInt64, at: Int64)?
        var inUse = 0.0
    }

    public init(interval: Duration = .seconds(1)) {
        cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.interval = interval.nanoseconds
    }

    public var coresInUse: Double {
        let now = MonotonicClock.nanoseconds()
        return state.withLock { state in
            if let last = state.last, now - last.at < interval { return state.inUse }
            guard let reading = Self.read() else { return state.inUse }
            if let last = state.last, reading.total > last.total, reading.busy >= last.busy {
                state.inUse = Double(reading.busy - last.busy) / Double(reading.total - last.total) * Double(cores)
            }
            state.last = (reading.busy, reading.total, now)
            return state.inUse
        }
    }

    /// The first line of /proc/stat: busy and total jiffies of all CPUs.
    static func read() -> (busy: UInt64, total: UInt64)? {
        guard let file = fopen("/proc/stat", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        return parse(String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// `cpu  user nice system idle iowait irq softirq steal ...`: idle and iowait are not busy.
    static func parse(_ line: String) -> (busy: UInt64, total: UInt64)? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.first == "cpu", fields.count >= 5 else { return nil }
        var total: UInt64 = 0, idle: UInt64 = 0
        for (index, field) in fields.dropFirst().prefix(8).enumerated() {
            guard let value = UInt64(field.filter { $0 != "\n" }) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { return nil }
            total = sum
            if index == 3 || index == 4 { idle += value }
        }
        return (total - idle, total)
    }
}
