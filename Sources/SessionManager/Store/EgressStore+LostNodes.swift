import Support

extension EgressStore {
    /// Why an egress whose server was lost (its heartbeats stopped) ended.
    public static let nodeLostError = "egress node lost"

    /// Ends egresses that another server ran and can no longer end, because it was lost: each
    /// becomes FAILED with `nodeLostError`, is written through this store's record store, listed
    /// here, and its `egress_ended` goes out from here. Egresses already ended, or known here,
    /// are left alone. Returns the ids ended, once their records are durable.
    public func endOrphans(_ records: [EgressRecord], node: String) async -> [String] {
        let now = WallClock.nanoseconds()
        let ended = state.withLock { store -> [String] in
            var ended: [String] = []
            for var record in records where !record.status.isEnded && latest(record.id, in: store) == nil {
                let event = EgressEvent.failed(error: Self.nodeLostError, code: 500, details: Self.endReason("Node \(node) lost"),
                                               results: record.results)
                guard case .success(let next) = record.state.applying(event) else { continue }
                record.state = next
                (record.error, record.errorCode, record.details) = (Self.nodeLostError, 500, Self.endReason("Node \(node) lost"))
                record.updatedAt = now
                Self.noteEnd(of: &record, at: now)
                store.order.append(record.id)
                store.endedCount += 1
                save(record, .ended, in: &store, isFact: true)
                ended.append(record.id)
            }
            return ended
        }
        await flush()
        for id in ended {
            logger.warning("egress ended: its node was lost", metadata: ["egress_id": "\(id)", "node": "\(node)"])
        }
        return ended
    }
}
