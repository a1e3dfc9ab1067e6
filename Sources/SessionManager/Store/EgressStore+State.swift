/// What the store keeps under its lock: the records, the live egresses' counts and costs, and
/// the writes on their way to the record store.
extension EgressStore {
    struct State {
        var records: [String: EgressRecord] = [:]
        /// Ids in creation order, oldest first.
        var order: [String] = []
        var nextSequence: UInt64 = 1

        /// The next creation sequence: increasing, and from the clock (its milliseconds, times
        /// 1,024), so that the records of a cluster's nodes list in about the order they were
        /// made.
        mutating func takeSequence(at now: Int64) -> UInt64 {
            nextSequence = max(nextSequence, UInt64(clamping: now / 1_000_000) << 10)
            defer { nextSequence += 1 }
            return nextSequence
        }
        var liveCount = 0
        var endedCount = 0
        /// The expected CPU cost of each live egress (with admission by cost), and their sum.
        var costs: [String: Double] = [:]
        var committedCost = 0.0
        /// SIGTERM: no new egress starts.
        var draining = false
        /// The newest backend call of each live egress; the next one waits for it.
        var backendCalls: [String: Task<Void, Never>] = [:]
        /// Versions not durable yet (not listed), and the writes queued for the record store.
        var pending: [String: PendingRecord] = [:]
        var writes: [QueuedWrite] = []
        /// What the backend reported that could not be written yet: written again, oldest first,
        /// ahead of every later write (see `unwrittenRetryInterval`).
        var unwritten: [QueuedWrite] = []
        var retryScheduled = false
        var writerRunning = false
        var nextSerial: UInt64 = 0
        /// Ended records whose removal is queued.
        var removing: Set<String> = []
        /// When each live egress's record was last given to the record store.
        var progressWrittenAt: [String: Int64] = [:]

        /// Gives back the expected CPU cost of an egress that ended (or never started).
        mutating func releaseCost(of id: String) {
            guard let cost = costs.removeValue(forKey: id) else { return }
            committedCost = costs.isEmpty ? 0 : committedCost - cost
        }
    }
}
