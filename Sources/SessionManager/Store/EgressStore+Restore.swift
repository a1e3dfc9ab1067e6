import Support

extension EgressStore {
    /// What `restore()` found and did.
    public struct RestoreSummary: Sendable, Equatable {
        /// Records read back.
        public var records = 0
        /// Egresses that were live when the earlier process died: now FAILED, their files finalized.
        public var recovered: [String] = []
        /// Events journaled but not delivered before, handed on again.
        public var redelivered = 0
        /// Ended records past the retention, removed.
        public var pruned = 0
    }

    /// Why an egress that was live when the server stopped without finishing it ended.
    public static let restartError = "egress server restarted"

    /// Takes up what an earlier process left in the record store, before any request is served:
    /// every record is listed again; events it had not delivered are handed on again (same ids);
    /// each egress that was live becomes FAILED with `restartError` after the backend has
    /// finalized its files, and its `egress_ended` goes out; records past the retention go.
    public func restore() async throws(EgressStoreError) -> RestoreSummary {
        guard let recordStore else { return RestoreSummary() }
        let stored = try recordStore.load()
        var summary = RestoreSummary()
        let live = state.withLock { store -> [EgressRecord] in
            var live: [EgressRecord] = []
            for record in stored.records.sorted(by: { $0.sequence < $1.sequence }) where store.records[record.id] == nil {
                store.records[record.id] = record
                store.order.append(record.id)
                store.nextSequence = max(store.nextSequence, record.sequence &+ 1)
                if record.status.isEnded {
                    store.endedCount += 1
                } else {
                    store.liveCount += 1
                    live.append(record)
                }
            }
            return live
        }
        summary.records = stored.records.count
        for change in stored.changes where observer?.observes(change.record) == true {
            hand(change)
            summary.redelivered += 1
        }
        for record in live {
            logger.warning("egress was live when the server stopped: finalizing what it wrote",
                           metadata: ["egress_id": "\(record.id)", "status": "\(record.status)"])
            let results = await backend.recover(record)
            apply(.failed(error: Self.restartError, code: 500, details: Self.endReason("Process killed"), results: results), to: record.id)
            summary.recovered.append(record.id)
        }
        summary.pruned = pruneExpired()
        await flush()
        return summary
    }

    /// Forgets ended egresses that ended longer than the retention ago (listed until their
    /// removal is durable); returns how many.
    @discardableResult
    public func pruneExpired(now: Int64 = WallClock.nanoseconds()) -> Int {
        let cutoff = now &- configuration.retention.nanoseconds
        return state.withLock { store in
            let expired = Set(store.records.values.filter { $0.status.isEnded && $0.endedAt < cutoff }.map(\.id)).subtracting(store.removing)
            forget(expired, in: &store)
            return expired.count
        }
    }
}
