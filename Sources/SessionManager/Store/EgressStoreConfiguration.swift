/// Limits of the session manager.
public struct EgressStoreConfiguration: Sendable {
    /// Egresses that may be live (not ended) at once (default 64); more are refused.
    public var maxLiveEgresses = 64
    /// Ended egresses kept for ListEgress (default 10,000); the oldest are dropped first.
    public var maxEndedEgresses = 10_000
    /// Records per ListEgress page (default 100).
    public var pageSize = 100
    /// Admission by CPU cost; nil: only `maxLiveEgresses` limits starts.
    public var cpuCosts: CPUCosts?
    /// Ended egresses older than this are forgotten (default 30 days).
    public var retention: Duration = .seconds(30 * 86_400)

    public init() {}
}
