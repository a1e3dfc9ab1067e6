import Support

extension EgressStore {
    /// Why an egress whose server was lost (its heartbeats stopped) ended.
    public static let nodeLostError = "egress node lost"

    /// Ends egresses that another server ran and can no longer end, because it was lost: each
    /// becomes FAILED with `nodeLostError`, is written through this store's record store (as
    /// this store's, with a sequence of its own), listed here, and its `egress_ended` goes out
    /// from here. Egresses already ended, or known here, are left alone. Returns the ids ended,
    /// once their records are durable; one whose write failed is not listed and not returned.
    public func endOrphans(_ records: [EgressRecord], node: String) async -> [String] {
        let now = WallClock.nanoseconds()
        let details = Self.endReason("Node \(node) lost")
        let tickets = state.withLock { store -> [(String, WriteTicket?)] in
            var tickets: [(String, WriteTicket?)] = []
            for orphan in records where !orphan.status.isEnded && latest(orphan.id, in: store) == nil {
                var record = EgressRecord(EgressRecord.Fixed(id: orphan.id, spec: orphan.spec, request: orphan.request, sequence: store.takeSequence(at: now),
                                                startedAt: orphan.startedAt), orphan.progress)
                let event = EgressEvent.failed(error: Self.nodeLostError, code: 500, details: details, results: record.results)
                guard case .success(let next) = record.state.applying(event) else { continue }
                record.state = next
                (record.error, record.errorCode, record.details) = (Self.nodeLostError, 500, details)
                record.updatedAt = now
                Self.noteEnd(of: &record, at: now)
                let id = record.id
                store.order.append(id)
                store.endedCount += 1
                let ticket = save(record, .ended, in: &store, waited: true, onFailure: { store in
                    store.order.removeAll { $0 == id }
                    store.endedCount -= 1
                })
                tickets.append((id, ticket))
            }
            return tickets
        }
        var ended: [String] = []
        for (id, ticket) in tickets {
            if let ticket, case .failure(let error) = await ticket.outcome() {
                logger.error("a lost node's egress could not be ended", metadata: ["egress_id": "\(id)", "node": "\(node)", "error": "\(error)"])
                continue
            }
            logger.warning("egress ended: its node was lost", metadata: ["egress_id": "\(id)", "node": "\(node)"])
            ended.append(id)
        }
        return ended
    }
}
