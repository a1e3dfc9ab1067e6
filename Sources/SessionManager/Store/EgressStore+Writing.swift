import Dispatch
import Support

/// Writing through to the record store, by group commit: a change is queued under the lock (so
/// writes keep the order of the changes), and one writer at a time takes everything queued and
/// makes it durable in one transaction, outside the lock. A change becomes visible (listed,
/// answered, handed to the observer) once it is durable; until then it is the egress's pending
/// version, which the next change of the same egress starts from. A batch that fails fails every
/// write queued behind it too (they were made from its records): requests are refused and their
/// reservations undone; what the backend reported is kept in memory all the same (it happened),
/// and written again until it is durable (its webhooks are sent then): a record store that is
/// back after an outage gets every change made meanwhile, in order.
extension EgressStore {
    /// An egress's newest version that is not durable yet, and the write that carries it.
    struct PendingRecord {
        var record: EgressRecord
        var serial: UInt64
    }

    /// A write waiting for the writer, with what becomes true in memory once it is durable and
    /// what is undone when it fails.
    struct QueuedWrite {
        var write: RecordWrite?
        var serial: UInt64
        /// The egress whose pending version this write carries.
        var egressID: String?
        var change: EgressChange?
        var ticket: WriteTicket?
        var onDurable: @Sendable (inout State) -> Void
        var onFailure: @Sendable (inout State) -> Void
        /// A fact (a backend's report): when its write fails it is kept and written again.
        var isKept = false
        /// The fact made again on another version of its egress (see `rebase`).
        var rebuild: (@Sendable (EgressRecord) -> EgressRecord?)?
    }

    /// The egress as its latest change left it, durable or not.
    func latest(_ id: String, in store: State) -> EgressRecord? {
        store.pending[id]?.record ?? store.records[id]
    }

    /// Saves `record` with a change of `kind` for the observer (when it takes this egress's
    /// changes). Once durable, the record is the listed one, `onDurable` runs and the change is
    /// handed on; when the write fails, a request's record is dropped (`isFact` false) or a
    /// backend's report is kept in memory all the same (`isFact`), and `onFailure` runs. Without
    /// a record store, all that happens now. With `waited`, the returned ticket tells the outcome.
    @discardableResult
    func save(_ record: EgressRecord, _ kind: EgressChange.Kind?, in store: inout State, waited: Bool = false, isFact: Bool = false,
              onDurable: @escaping @Sendable (inout State) -> Void = { _ in },
              onFailure: @escaping @Sendable (inout State) -> Void = { _ in },
              rebuild: (@Sendable (EgressRecord) -> EgressRecord?)? = nil) -> WriteTicket? {
        let change = kind.flatMap { newChange($0, of: record) }
        let id = record.id
        return enqueue(.save(record, change: change), egressID: id, change: change, in: &store, waited: waited, onDurable: { store in
            store.records[id] = record
            onDurable(&store)
        }, onFailure: { store in
            if isFact { store.records[id] = record }
            onFailure(&store)
        }, pending: record, isKept: isFact, rebuild: rebuild)
    }

    /// A change of `kind` for the observer, when it takes this egress's changes.
    private func newChange(_ kind: EgressChange.Kind, of record: EgressRecord) -> EgressChange? {
        guard let observer, observer.observes(record) else { return nil }
        return EgressChange(kind: kind, record: record, id: RandomID.make(prefix: "EV_"), createdAt: WallClock.nanoseconds() / 1_000_000_000)
    }

    /// Queues a write (or, with nil, a marker that completes when everything before it has).
    @discardableResult
    func enqueue(_ write: RecordWrite?, egressID: String? = nil, change: EgressChange? = nil, in store: inout State, waited: Bool = false,
                 onDurable: @escaping @Sendable (inout State) -> Void = { _ in },
                 onFailure: @escaping @Sendable (inout State) -> Void = { _ in }, pending: EgressRecord? = nil,
                 isKept: Bool = false, rebuild: (@Sendable (EgressRecord) -> EgressRecord?)? = nil) -> WriteTicket? {
        guard recordStore != nil else {
            onDurable(&store)
            if let change { hand(change) }
            return nil
        }
        store.nextSerial += 1
        if let pending, let egressID { store.pending[egressID] = PendingRecord(record: pending, serial: store.nextSerial) }
        let ticket = waited ? WriteTicket() : nil
        store.writes.append(QueuedWrite(write: write, serial: store.nextSerial, egressID: egressID, change: change, ticket: ticket,
                                        onDurable: onDurable, onFailure: onFailure, isKept: isKept, rebuild: rebuild))
        if !store.writerRunning {
            store.writerRunning = true
            writer.async { [self] in drainWrites() }
        }
        return ticket
    }

    /// The writer: batches until none is queued. The facts of a failed batch go first in the
    /// next one.
    func drainWrites() {
        while true {
            let batch = state.withLock { store -> [QueuedWrite] in
                guard !store.writes.isEmpty else {
                    store.writerRunning = false
                    return []
                }
                defer {
                    store.writes.removeAll(keepingCapacity: true)
                    store.unwritten.removeAll()
                }
                return store.unwritten + store.writes
            }
            guard !batch.isEmpty else { return }
            let result: Result<Void, EgressStoreError>
            do {
                try recordStore?.write(batch.compactMap(\.write))
                result = .success(())
            } catch {
                result = .failure(error)
            }
            var completed = batch
            var kept = 0
            state.withLock { store in
                if case .failure = result {
                    // Made from the failed writes' records: they fail with them, unwritten.
                    completed += store.writes
                    store.writes.removeAll()
                }
                // Egresses whose request (a stop, a stream update) was refused in this batch.
                var refused: Set<String> = []
                for var queued in completed {
                    if case .success = result {
                        queued.onDurable(&store)
                    } else {
                        if queued.isKept, let id = queued.egressID, refused.contains(id) { rebase(&queued, id: id, in: store) }
                        if !queued.isKept, let id = queued.egressID, case .save? = queued.write { refused.insert(id) }
                        queued.onFailure(&store)
                        if queued.isKept {
                            // Still the egress's pending version: what it reports next queues behind it.
                            keep(queued, in: &store)
                            kept += 1
                            continue
                        }
                    }
                    if let id = queued.egressID, store.pending[id]?.serial == queued.serial { store.pending[id] = nil }
                }
                if kept > 0 {
                    // A refused request's write may have cleared an egress's pending version:
                    // its newest kept one is that again.
                    for queued in store.unwritten {
                        if let id = queued.egressID, case .save(let record, _)? = queued.write {
                            store.pending[id] = PendingRecord(record: record, serial: queued.serial)
                        }
                    }
                    scheduleRetry(in: &store)
                }
            }
            if case .failure(let error) = result {
                logger.error("egress records not stored", metadata: ["writes": "\(completed.count)", "kept_to_retry": "\(kept)", "error": "\(error)"])
                noneLive.signal { liveCount == 0 }
            }
            for queued in completed {
                queued.ticket?.complete(result)
                if case .success = result, let change = queued.change { hand(change) }
            }
        }
    }

    /// A fact the backend reported while a request's version of its egress was being written,
    /// and so made on that version: the request was refused, so the fact is made again on the
    /// version before it (the listed one), with its change, and is kept as that.
    private func rebase(_ queued: inout QueuedWrite, id: String, in store: State) {
        guard let rebuild = queued.rebuild, let base = store.records[id], case .save(_, let change)? = queued.write,
              let rebased = rebuild(base) else { return }
        var remade = change.map { EgressChange(kind: $0.kind, record: rebased, id: $0.id, createdAt: $0.createdAt) }
        if remade == nil, rebased.status != base.status { remade = newChange(.updated, of: rebased) }
        queued.write = .save(rebased, change: remade)
        queued.change = remade
        let (failed, durable) = (queued.onFailure, queued.onDurable)
        queued.onFailure = { store in
            failed(&store)
            store.records[id] = rebased
        }
        queued.onDurable = { store in
            durable(&store)
            if store.records[id] != nil { store.records[id] = rebased }
        }
    }

    /// Keeps a fact whose write failed, to be written again: a report without a change
    /// replaces the egress's earlier ones (its newest results are all that is needed), and past
    /// `maxUnwritten` the oldest give way.
    private func keep(_ queued: QueuedWrite, in store: inout State) {
        var queued = queued
        queued.ticket = nil  // told of the failure now
        if queued.change == nil, let id = queued.egressID {
            store.unwritten.removeAll { $0.egressID == id && $0.change == nil }
        }
        store.unwritten.append(queued)
        if store.unwritten.count > configuration.maxUnwritten {
            let dropped = store.unwritten.removeFirst()
            if let id = dropped.egressID, store.pending[id]?.serial == dropped.serial { store.pending[id] = nil }
            logger.error("an unwritten egress change was dropped: too many kept", metadata: ["egress_id": "\(dropped.egressID ?? "")"])
        }
    }

    /// Writes the kept facts again after `unwrittenRetryInterval`.
    private func scheduleRetry(in store: inout State) {
        guard !store.retryScheduled else { return }
        store.retryScheduled = true
        writer.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: configuration.unwrittenRetryInterval.nanoseconds))) { [weak self] in
            guard let self else { return }
            state.withLock { store in
                store.retryScheduled = false
                if !store.unwritten.isEmpty { enqueue(nil, in: &store) }
            }
        }
    }

    /// How many reported changes wait to be written again.
    public var unwrittenCount: Int { state.withLock { $0.unwritten.count } }

    /// Waits until every write queued so far is durable (or has failed).
    public func flush() async {
        let ticket = state.withLock { store in enqueue(nil, in: &store, waited: true) }
        _ = await ticket?.outcome()
    }

    /// Gives a (journaled) change to the observer; once it is done with it, it leaves the journal.
    func hand(_ change: EgressChange) {
        observer?.notify(change) { [weak self] in
            guard let self, recordStore != nil else { return }
            state.withLock { store in _ = enqueue(.removeChange(change.id), in: &store) }
        }
    }

    /// Removes ended records, from the record store first (if that fails they stay listed).
    func forget(_ ids: Set<String>, in store: inout State) {
        let ids = ids.subtracting(store.removing)
        guard !ids.isEmpty else { return }
        store.removing.formUnion(ids)
        enqueue(.remove(Array(ids)), in: &store, onDurable: { store in
            for id in ids where store.records.removeValue(forKey: id) != nil { store.endedCount -= 1 }
            store.order.removeAll { ids.contains($0) }
            store.removing.subtract(ids)
        }, onFailure: { store in
            store.removing.subtract(ids)
        })
    }
}
