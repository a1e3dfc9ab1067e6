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
    /// A live egress's results alone (sizes, durations: no change of state or stream) are
    /// written to the record store at most this often (default 10 s); in between they are listed
    /// from memory, and a restart recounts them from the files. Each egress reports them every
    /// 2 s: written every time, they were nine tenths of a cluster's Redis commands.
    public var progressWriteInterval: Duration = .seconds(10)
    /// What the backend reported while the record store could not be written (Redis restarting,
    /// a full disk) is kept and written again this often until it is durable; only then are its
    /// webhooks sent. At most `maxUnwritten` such writes are kept (the oldest give way).
    public var unwrittenRetryInterval: Duration = .seconds(1)
    public var maxUnwritten = 100_000

    public init() {}
}
