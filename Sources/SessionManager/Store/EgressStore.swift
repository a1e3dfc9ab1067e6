import Dispatch
import Logging
import Support
import Synchronization

/// Keeps every egress and drives each one's state machine: creates records for Start*
/// requests, hands the work to the `EgressBackend`, applies what the backend reports, and
/// answers stops, stream updates and listings.
///
/// Its records sit behind a mutex; a request suspends only to wait for its record's write (none
/// without a record store). The backend's work runs in tasks of its own, one ordered chain per
/// egress so that `stop` always follows `start`.
///
/// With a `recordStore`, every change is written there before it is answered, listed or handed
/// to the observer (with the observer's change, in the same write; see `EgressStore+Writing`),
/// and `restore()` takes up what an earlier process left. A request whose record cannot be
/// written is refused and changes nothing.
public final class EgressStore: Sendable {
    let backend: any EgressBackend
    let configuration: EgressStoreConfiguration
    let logger: Logger
    let observer: (any EgressObserver)?
    let recordStore: (any EgressRecordStore)?
    let admission: CPUAdmission?
    let state = Mutex(State())
    /// Where the record store's writes are made, one batch at a time.
    let writer = DispatchQueue(label: "egress-record-writer")
    /// Open while no egress is live (what `stopAll` waits for).
    let noneLive = Gate()

    public init(backend: any EgressBackend, configuration: EgressStoreConfiguration = .init(), logger: Logger,
                observer: (any EgressObserver)? = nil, recordStore: (any EgressRecordStore)? = nil, cpuMeter: (any CPUMeter)? = nil) {
        self.backend = backend
        admission = configuration.cpuCosts.flatMap { costs in cpuMeter.map { CPUAdmission(costs: costs, meter: $0) } }
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        self.recordStore = recordStore
    }

    // MARK: Requests

    /// Creates an egress in EGRESS_STARTING and hands it to the backend.
    public func start(_ spec: EgressSpec, request: EgressRecord.EchoedRequest) async throws(EgressStoreError) -> EgressRecord {
        let now = WallClock.nanoseconds()
        let record: EgressRecord
        do {
            let (created, written) = try admitAndCreate(spec, request: request, at: now)
            try await written?.durable()
            record = created
        } catch {
            EgressMetrics.refused(error)
            throw error
        }
        EgressMetrics.started(record)
        logger.info("egress starting", metadata: ["egress_id": "\(record.id)", "room": "\(spec.roomName)"])
        let reporter = EgressReporter { [weak self] event in self?.apply(event, to: record.id) }
        enqueueBackendCall(for: record.id) { backend in await backend.start(record, reporter: reporter) }
        return record
    }

    /// Admission, and the new record queued to be written (listed once it is); throws (changing
    /// nothing) when refused. Its place among the live egresses is taken now, and given back if
    /// the write fails.
    private func admitAndCreate(_ spec: EgressSpec, request: EgressRecord.EchoedRequest,
                                at now: Int64) throws(EgressStoreError) -> (EgressRecord, WriteTicket?) {
        try state.withLock { store throws(EgressStoreError) -> (EgressRecord, WriteTicket?) in
            guard !store.draining else { throw .shuttingDown }
            guard store.liveCount < configuration.maxLiveEgresses else {
                throw .capacityExhausted(limit: configuration.maxLiveEgresses)
            }
            let cost = admission?.costs.cost(of: spec) ?? 0
            try admission?.admit(cost, committed: store.committedCost, live: store.liveCount)
            var id = EgressID.make()
            while latest(id, in: store) != nil { id = EgressID.make() }
            var record = EgressRecord(id: id, spec: spec, request: request, startedAt: now, updatedAt: now,
                                      sequence: store.takeSequence(at: now))
            // Each stream URL is listed from the start, with the id it keeps (and can be removed).
            record.results.streams = (spec.outputs.stream?.urls ?? []).map { StreamResult(id: RandomID.make(prefix: "ST_"), url: $0) }
            store.liveCount += 1
            if admission != nil {
                store.costs[id] = cost
                store.committedCost += cost
            }
            let written = save(record, .started, in: &store, waited: true, onDurable: { [id] store in
                store.order.append(id)
            }, onFailure: { [id] store in
                store.liveCount -= 1
                store.releaseCost(of: id)
            })
            return (record, written)
        }
    }

    /// Moves a live egress to EGRESS_ENDING and asks the backend to finish it.
    public func stop(_ id: String) async throws(EgressStoreError) -> EgressRecord {
        let (record, written) = try state.withLock { store throws(EgressStoreError) -> (EgressRecord, WriteTicket?) in
            guard var record = latest(id, in: store) else { throw .notFound(egressID: id) }
            guard !record.status.isEnded else { throw .alreadyEnded(egressID: id, status: record.status) }
            guard case .success(let next) = record.state.applying(.stopRequested) else {
                throw .wrongState("egress \(id) is already \(record.status)")
            }
            record.state = next
            record.updatedAt = WallClock.nanoseconds()
            record.details = Self.endReason("StopEgress called")
            return (record, save(record, .updated, in: &store, waited: true))
        }
        try await written?.durable()
        logger.info("egress stopping", metadata: ["egress_id": "\(id)"])
        enqueueBackendCall(for: id) { backend in await backend.stop(id) }
        return record
    }

    /// Adds and removes stream URLs of a live egress that has a stream output.
    public func updateStream(_ id: String, add: [String], remove: [String]) async throws(EgressStoreError) -> EgressRecord {
        let (record, added, removed, written) = try state.withLock {
            store throws(EgressStoreError) -> (EgressRecord, [StreamResult], [String], WriteTicket?) in
            guard var record = latest(id, in: store) else { throw .notFound(egressID: id) }
            guard !record.status.isEnded else { throw .alreadyEnded(egressID: id, status: record.status) }
            guard record.spec.outputs.stream != nil else { throw .notStreaming }
            let now = WallClock.nanoseconds()
            // Changes are made on a copy: a refusal leaves the record as it was.
            var active = [String: Int]()
            for (at, stream) in record.results.streams.enumerated() where stream.status == .active { active[stream.url] = at }
            var removed: [String] = []
            for given in remove {
                // The URL as it was given, or as the API shows it (its key or token hidden) when
                // that names one stream: what a client has that only read the answers.
                let shownAs = active.keys.filter { $0 != given && StreamKey.redacted($0) == given }
                guard let url = active[given] != nil ? given : shownAs.count == 1 ? shownAs[0] : nil,
                      let at = active.removeValue(forKey: url) else {
                    throw .streamNotFound(url: StreamKey.redacted(given))
                }
                record.results.streams[at].status = .finished
                record.results.streams[at].endedAt = now
                if record.results.streams[at].startedAt > 0 {
                    record.results.streams[at].duration = now - record.results.streams[at].startedAt
                }
                removed.append(url)
            }
            var added: [StreamResult] = []
            for url in add where active[url] == nil {
                active[url] = record.results.streams.count
                let stream = StreamResult(id: RandomID.make(prefix: "ST_"), url: url)
                record.results.streams.append(stream)
                added.append(stream)
            }
            guard active.count <= StreamOutput.maxURLs else {
                throw .tooMany("egress \(id) would stream to \(active.count) URLs; at most \(StreamOutput.maxURLs) are allowed")
            }
            // A long history of finished streams is trimmed, oldest first.
            while record.results.streams.count > StreamOutput.maxResults,
                  let oldest = record.results.streams.firstIndex(where: { $0.status != .active }) {
                record.results.streams.remove(at: oldest)
            }
            record.updatedAt = now
            return (record, added, removed, save(record, .updated, in: &store, waited: true))
        }
        try await written?.durable()
        if !added.isEmpty || !removed.isEmpty {
            enqueueBackendCall(for: id) { backend in await backend.updateStreams(id, add: added, remove: removed) }
        }
        return record
    }

    public func record(_ id: String) -> EgressRecord? {
        state.withLock { $0.records[id] }
    }

    /// Egresses matching `query`, newest first, one page at a time.
    public func list(_ query: EgressQuery) throws(EgressStoreError) -> EgressPage {
        var after = UInt64.max
        if let token = query.pageToken, !token.isEmpty {
            guard let parsed = PageToken.parse(token) else { throw .invalidPageToken }
            after = parsed
        }
        return state.withLock { store in
            var page: [EgressRecord] = []
            var more = false
            if let id = query.egressID {
                if let record = store.records[id], record.sequence < after, query.matches(record) { page.append(record) }
                return EgressPage(records: page, nextPageToken: nil)
            }
            for id in store.order.reversed() {
                guard let record = store.records[id], record.sequence < after, query.matches(record) else { continue }
                if page.count == configuration.pageSize {
                    more = true
                    break
                }
                page.append(record)
            }
            return EgressPage(records: page, nextPageToken: more ? PageToken.make(after: page.last!.sequence) : nil)
        }
    }

    /// The rooms that have a live egress now (LiveKit's `Room.active_recording`).
    public func roomsRecording() -> Set<String> {
        state.withLock { store in Set(store.backendCalls.keys.compactMap { store.records[$0]?.spec.roomName }) }
    }

    /// Live egresses right now.
    public var liveCount: Int { state.withLock { $0.liveCount } }

    /// Live egresses by the kind of request that started them.
    public func liveCounts() -> [EgressRecord.EchoedRequest.Kind: Int] {
        state.withLock { store in
            var counts: [EgressRecord.EchoedRequest.Kind: Int] = [:]
            for id in store.backendCalls.keys {
                if let kind = store.records[id]?.request.kind { counts[kind, default: 0] += 1 }
            }
            return counts
        }
    }

    /// Cores free for another egress, with admission by cost (nil without).
    public var availableCPU: Double? {
        guard let admission else { return nil }
        return admission.available(committed: state.withLock { $0.committedCost })
    }

    /// The expected CPU cost of the live egresses (0 without admission by cost).
    public var committedCPU: Double { state.withLock { $0.committedCost } }

    /// From now on every start is refused ("server is shutting down"); live egresses go on.
    public func beginDraining() {
        state.withLock { $0.draining = true }
    }

    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Stops every live egress and waits until the backend has finished them (or `timeout`) and
    /// what they reported is written and handed to the observer.
    public func stopAll(timeout: Duration) async {
        let live = state.withLock { store in
            Set(store.records.keys).union(store.pending.keys).filter { latest($0, in: store)?.status.isEnded == false }
        }
        for id in live { _ = try? await stop(id) }
        _ = await noneLive.wait(until: { liveCount == 0 }, timeout: timeout)
        await flush()
    }

    // MARK: Backend

    private func enqueueBackendCall(for id: String, _ call: @escaping @Sendable (any EgressBackend) async -> Void) {
        state.withLock { store in
            let previous = store.backendCalls[id]
            store.backendCalls[id] = Task { [backend] in
                await previous?.value
                await call(backend)
            }
        }
    }

    /// Applies a backend's report to the egress: its record, then its state machine.
    func apply(_ event: EgressEvent, to id: String) {
        let outcome: Result<(EgressRecord, changed: Bool), EgressState.IllegalTransition>? = state.withLock { store in
            guard let current = latest(id, in: store) else { return nil }
            let now = WallClock.nanoseconds()
            let record: EgressRecord
            switch Self.applying(event, to: current, at: now) {
            case .success(let next): record = next
            case .failure(let refusal): return .failure(refusal)
            }
            let (before, streamsBefore, resultsBefore) = (current.status, current.results.streams.map(\.status), current.results)
            if record.status.isEnded {
                store.liveCount -= 1
                store.endedCount += 1
                store.backendCalls[id] = nil
                store.releaseCost(of: id)
            }
            let kind: EgressChange.Kind? = record.status.isEnded ? .ended
                : record.status != before || record.results.streams.map(\.status) != streamsBefore ? .updated : nil
            if kind == nil, recordStore != nil, store.pending[id] == nil, Self.sameOutputs(record.results, resultsBefore),
               let written = store.progressWrittenAt[id], now - written < configuration.progressWriteInterval.nanoseconds {
                // Sizes and durations alone: listed now, written with the next change or after the
                // interval. (A new output is written at once: a restart finalizes what is named.)
                store.records[id] = record
                return .success((record, false))
            }
            if record.status.isEnded { store.progressWrittenAt[id] = nil } else { store.progressWrittenAt[id] = now }
            // What the backend reports happened whether or not it could be written down (logged).
            save(record, kind, in: &store, isFact: true, onDurable: { [self] store in evictEnded(&store) },
                 rebuild: { base in try? Self.applying(event, to: base, at: now).get() })
            return .success((record, record.status != before))
        }
        switch outcome {
        case .success(let (record, changed))?:
            if record.status.isEnded {
                noneLive.signal { liveCount == 0 }
                if changed { EgressMetrics.ended(record) }
            }
            logger.log(level: changed ? .info : .debug, "egress updated", metadata: ["egress_id": "\(id)", "status": "\(record.status)"])
        case .failure(let refusal)?:
            logger.error("backend report refused", metadata: ["egress_id": "\(id)", "reason": "\(refusal)"])
        case nil:
            logger.warning("backend report for an unknown egress", metadata: ["egress_id": "\(id)"])
        }
    }

    /// `record` with `event` applied as of `now` (no other state changes): its next version, or
    /// the transition refused.
    static func applying(_ event: EgressEvent, to record: EgressRecord, at now: Int64) -> Result<EgressRecord, EgressState.IllegalTransition> {
        var record = record
        switch event {
        case .mediaStarted, .stopRequested: break
        case .roomIdentified(let roomID): record.roomID = roomID
        case .progress(let results), .finalized(let results), .limitReached(let results):
            record.results = merging(results, into: record.results)
        case .sourceEnded(let reason): record.details = endReason(reason)
        case .failed(let error, let code, let details, let results):
            (record.error, record.errorCode, record.details) = (error, code, details)
            record.results = merging(results, into: record.results)
        }
        switch record.state.applying(event) {
        case .success(let next): record.state = next
        case .failure(let refusal): return .failure(refusal)
        }
        record.updatedAt = now
        if record.status.isEnded { noteEnd(of: &record, at: now) }
        return .success(record)
    }

    /// An egress that just ended: its end time, and a stream the backend never got to (or
    /// never reported) ends with it.
    static func noteEnd(of record: inout EgressRecord, at now: Int64) {
        record.endedAt = now
        for at in record.results.streams.indices where record.results.streams[at].status == .active {
            record.results.streams[at].status = record.status == .failed ? .failed : .finished
            record.results.streams[at].endedAt = now
        }
    }

    /// Whether two results name the same outputs (files, playlists, images, streams, manifest,
    /// failures, backup) started at the same times, whatever their sizes, durations and counts.
    static func sameOutputs(_ a: EgressResults, _ b: EgressResults) -> Bool {
        a.files.map(\.location) == b.files.map(\.location) && a.files.map(\.startedAt) == b.files.map(\.startedAt)
            && a.segments.map(\.playlistLocation) == b.segments.map(\.playlistLocation) && a.segments.map(\.startedAt) == b.segments.map(\.startedAt)
            && a.images.map(\.filenamePrefix) == b.images.map(\.filenamePrefix) && a.images.map(\.startedAt) == b.images.map(\.startedAt)
            && a.streams.map(\.url) == b.streams.map(\.url)
            && a.manifestLocation == b.manifestLocation && a.failedOutputs == b.failedOutputs && a.backupStorageUsed == b.backupStorageUsed
    }

    /// Why an egress ended, in `details` as LiveKit's egress words it.
    static func endReason(_ reason: String) -> String { "End reason: \(reason)" }

    /// A backend's results, with the store's own view of the streams kept where the backend's
    /// is behind: a stream added by UpdateStream that the backend has not reported yet stays
    /// listed, and one that was removed never shows ACTIVE again.
    static func merging(_ reported: EgressResults, into current: EgressResults) -> EgressResults {
        var merged = reported
        let reportedIDs = Set(reported.streams.map(\.id))
        for (at, stream) in merged.streams.enumerated() where stream.status == .active {
            if let known = current.streams.first(where: { $0.id == stream.id }), known.status != .active {
                merged.streams[at].status = known.status
                merged.streams[at].endedAt = known.endedAt
                merged.streams[at].duration = known.duration
            }
        }
        merged.streams += current.streams.filter { $0.status == .active && !reportedIDs.contains($0.id) }
        return merged
    }

    /// Drops the oldest ended records beyond `maxEndedEgresses`, here and in the record store.
    func evictEnded(_ store: inout State) {
        guard store.endedCount - store.removing.count > configuration.maxEndedEgresses else { return }
        var excess = store.endedCount - store.removing.count - configuration.maxEndedEgresses
        var dropped = Set<String>()
        for id in store.order where excess > 0 {
            guard let record = store.records[id], record.status.isEnded, !store.removing.contains(id) else { continue }
            dropped.insert(id)
            excess -= 1
        }
        forget(dropped, in: &store)
    }
}
