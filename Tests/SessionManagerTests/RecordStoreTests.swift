import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import Testing
@testable import SessionManager

/// A record store in memory that can be told to fail, and an observer that keeps what it gets.
final class MemoryRecordStore: EgressRecordStore {
    let records = Mutex<[String: EgressRecord]>([:])
    let changes = Mutex<[EgressChange]>([])
    let failing = Mutex(false)
    /// With `held`, a write waits for `release()`: the writer is busy and writes queue up.
    let held = Mutex(false)
    let waiting = Mutex(0)
    private let gate = DispatchSemaphore(value: 0)
    /// How many writes each batch had.
    let batches = Mutex<[Int]>([])
    /// Seconds each write takes (a slow disk).
    let delay = Mutex(0.0)

    func release() {
        held.withLock { $0 = false }
        gate.signal()
    }

    func load() throws(EgressStoreError) -> StoredEgresses {
        StoredEgresses(records: records.withLock { Array($0.values) }, changes: changes.withLock { $0 })
    }

    func write(_ writes: [RecordWrite]) throws(EgressStoreError) {
        if held.withLock({ $0 }) {
            waiting.withLock { $0 += 1 }
            gate.wait()
        }
        batches.withLock { $0.append(writes.count) }
        let seconds = delay.withLock { $0 }
        if seconds > 0 { usleep(UInt32(seconds * 1_000_000)) }
        guard !failing.withLock({ $0 }) else { throw .storageFailed("the disk is full") }
        for write in writes {
            switch write {
            case .save(let record, let change):
                records.withLock { $0[record.id] = record }
                if let change { changes.withLock { $0.append(change) } }
            case .remove(let ids):
                records.withLock { for id in ids { $0[id] = nil } }
            case .removeChange(let id):
                changes.withLock { $0.removeAll { $0.id == id } }
            }
        }
    }
}

final class KeepingObserver: EgressObserver {
    let received = Mutex<[(change: EgressChange, done: @Sendable () -> Void)]>([])

    func observes(_ record: EgressRecord) -> Bool { true }

    func notify(_ change: EgressChange, done: @escaping @Sendable () -> Void) {
        received.withLock { $0.append((change, done)) }
    }

    var kinds: [EgressChange.Kind] { received.withLock { $0.map(\.change.kind) } }
}

/// A backend that finishes an egress as soon as it is stopped.
final class FinishingBackend: EgressBackend {
    let reporters = Mutex<[String: EgressReporter]>([:])
    func start(_ egress: EgressRecord, reporter: EgressReporter) async { reporters.withLock { $0[egress.id] = reporter } }
    func stop(_ egressID: String) async { reporters.withLock { $0[egressID] }?.report(.finalized(EgressResults())) }
    func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {}
    func recover(_ egress: EgressRecord) async -> EgressResults { egress.results }
}

/// A backend whose recovery says what it finalized.
final class RecoveringBackend: EgressBackend {
    let recovered = Mutex<[String]>([])
    func start(_ egress: EgressRecord, reporter: EgressReporter) async {}
    func stop(_ egressID: String) async {}
    func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {}
    func recover(_ egress: EgressRecord) async -> EgressResults {
        recovered.withLock { $0.append(egress.id) }
        var results = egress.results
        results.files = [FileResult(filename: "a.mp4", location: "/out/a.mp4", size: 1234, duration: 5_000_000_000)]
        return results
    }
}

@Suite struct RecordStoreTests {
    let logger = Logger(label: "test")
    let spec = EgressSpec(roomName: "lobby", source: .participant(identity: "alice", screenShare: false), encoding: .transcode(.default),
                          outputs: Outputs(files: [FileOutput(fileType: nil, path: "", disableManifest: false)]))
    let echo = EgressRecord.EchoedRequest(kind: .participant, encoded: [1, 2, 3])

    @Test func aStartThatCannotBeStoredIsRefusedAndChangesNothing() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        let sessions = EgressStore(backend: RecoveringBackend(), logger: logger, observer: observer, recordStore: store)
        store.failing.withLock { $0 = true }
        await #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try await sessions.start(spec, request: echo) }
        #expect(try sessions.list(EgressQuery()).records.isEmpty)
        #expect(sessions.liveCount == 0)
        #expect(observer.kinds.isEmpty)
        store.failing.withLock { $0 = false }
        let record = try await sessions.start(spec, request: echo)
        store.failing.withLock { $0 = true }
        await #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try await sessions.stop(record.id) }
        #expect(sessions.record(record.id)?.status == .starting)
    }

    @Test func eachChangeIsStoredWithItsEventAndLeavesTheJournalWhenDone() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        let sessions = EgressStore(backend: RecoveringBackend(), logger: logger, observer: observer, recordStore: store)
        let record = try await sessions.start(spec, request: echo)
        _ = try await sessions.stop(record.id)
        #expect(store.records.withLock { $0[record.id]?.status } == .ending)
        #expect(store.changes.withLock { $0.map(\.kind) } == [.started, .updated])
        #expect(observer.received.withLock { $0.map(\.change.id) } == store.changes.withLock { $0.map(\.id) })
        observer.received.withLock { $0[0] }.done()
        await sessions.flush()
        #expect(store.changes.withLock { $0.map(\.kind) } == [.updated])
    }

    /// Results alone (every 2 s from each recording) are listed at once but written at most
    /// every `progressWriteInterval`; a new output and a change of state are written at once.
    /// (An hour, so that no slow machine sees it pass; with none, every report is written.)
    @Test(arguments: [(Duration.seconds(3600), Int64(1)), (Duration.zero, Int64(5))])
    func resultsAloneAreWrittenAtMostEveryIntervalAndListedAtOnce(interval: Duration, storedAfterFive: Int64) async throws {
        let store = MemoryRecordStore()
        var configuration = EgressStoreConfiguration()
        configuration.progressWriteInterval = interval
        let sessions = EgressStore(backend: RecoveringBackend(), configuration: configuration, logger: logger, recordStore: store)
        let record = try await sessions.start(spec, request: echo)
        let results = { (size: Int64) in
            var results = EgressResults()
            results.files = [FileResult(filename: "a.mp4", location: "/out/a.mp4", size: size, duration: 1)]
            return results
        }
        let stored = { store.records.withLock { $0[record.id]?.results.files.first?.size } }
        sessions.apply(.progress(results(1)), to: record.id)  // the first is written
        await sessions.flush()
        #expect(stored() == 1)
        for size in 2...5 { sessions.apply(.progress(results(Int64(size))), to: record.id) }
        await sessions.flush()
        #expect(stored() == storedAfterFive)  // within the interval: not written...
        #expect(sessions.record(record.id)?.results.files.first?.size == 5)  // ...but listed
        // A new output is written at once (a restart finalizes the files the record names).
        var second = results(7)
        second.files.append(FileResult(filename: "b.mp4", location: "/out/b.mp4", size: 1, duration: 1))
        sessions.apply(.progress(second), to: record.id)
        await sessions.flush()
        #expect(store.records.withLock { $0[record.id]?.results.files.count } == 2)
        sessions.apply(.progress(results(8)), to: record.id)
        _ = try await sessions.stop(record.id)  // a change of state: written at once, with the latest results
        #expect(store.records.withLock { $0[record.id]?.status } == .ending)
        #expect(stored() == 8)
    }

    @Test func restoreListsEveryRecordAndFailsTheInterruptedOnesWithTheirFilesFinalized() async throws {
        let store = MemoryRecordStore()
        let first = EgressStore(backend: RecoveringBackend(), logger: logger, observer: KeepingObserver(), recordStore: store)
        let live = try await first.start(spec, request: echo)
        let ended = try await first.start(spec, request: echo)
        _ = try await first.stop(ended.id)
        first.apply(.finalized(EgressResults()), to: ended.id)
        await first.flush()
        let endedBefore = try #require(store.records.withLock { $0[ended.id] })

        let backend = RecoveringBackend()
        let observer = KeepingObserver()
        let second = EgressStore(backend: backend, logger: logger, observer: observer, recordStore: store)
        let summary = try await second.restore()
        #expect(summary.records == 2 && summary.recovered == [live.id])
        #expect(summary.redelivered == 4)  // the first run's two starts, a stop and an end: none was done
        #expect(backend.recovered.withLock { $0 } == [live.id])
        let failed = try #require(second.record(live.id))
        #expect(failed.status == .failed && failed.error == EgressStore.restartError && failed.errorCode == 500)
        #expect(failed.details == "End reason: Process killed" && failed.endedAt > 0)
        #expect(failed.results.files.first?.size == 1234)
        #expect(observer.kinds.suffix(1) == [.ended])
        #expect(second.liveCount == 0)
        #expect(try second.list(EgressQuery()).records.map(\.id) == [ended.id, live.id])
        #expect(second.record(ended.id)?.updatedAt == endedBefore.updatedAt)
        // A new egress comes after the restored ones.
        let next = try await second.start(spec, request: echo)
        #expect(next.sequence > ended.sequence)
    }

    @Test func endedRecordsPastTheRetentionArePrunedHereAndInTheStore() async throws {
        let store = MemoryRecordStore()
        var configuration = EgressStoreConfiguration()
        configuration.retention = .seconds(3600)
        let sessions = EgressStore(backend: RecoveringBackend(), configuration: configuration, logger: logger, recordStore: store)
        let old = try await sessions.start(spec, request: echo)
        _ = try await sessions.stop(old.id)
        sessions.apply(.finalized(EgressResults()), to: old.id)
        let live = try await sessions.start(spec, request: echo)
        let endedAt = try #require(sessions.record(old.id)?.endedAt)
        #expect(sessions.pruneExpired(now: endedAt + 3_599_000_000_000) == 0)
        #expect(sessions.pruneExpired(now: endedAt + 3_601_000_000_000) == 1)
        await sessions.flush()
        #expect(sessions.record(old.id) == nil && store.records.withLock { $0[old.id] } == nil)
        #expect(sessions.record(live.id) != nil && store.records.withLock { $0[live.id] } != nil)
    }

    /// Starts `count` egresses while the writer is held on the first: (the first's task, the others').
    func queuedStarts(_ sessions: EgressStore, _ store: MemoryRecordStore, count: Int) async throws
        -> (Task<EgressRecord, any Error>, [Task<EgressRecord, any Error>]) {
        store.held.withLock { $0 = true }
        let first = Task { [spec, echo] in try await sessions.start(spec, request: echo) }
        try await until { store.waiting.withLock { $0 } == 1 }
        let others = (0..<count).map { _ in Task { [spec, echo] in try await sessions.start(spec, request: echo) } }
        try await until { sessions.liveCount == count + 1 }
        return (first, others)
    }

    func until(_ condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    @Test func startsQueuedWhileOneIsWrittenAreWrittenInOneBatchAndListedOnlyOnceDurable() async throws {
        let store = MemoryRecordStore()
        let sessions = EgressStore(backend: RecoveringBackend(), logger: logger, observer: KeepingObserver(), recordStore: store)
        let (first, others) = try await queuedStarts(sessions, store, count: 5)
        // Reserved (they count against the limits) but not listed: none is durable yet.
        #expect(try sessions.list(EgressQuery()).records.isEmpty)
        store.release()
        var started = [try await first.value]
        for task in others { started.append(try await task.value) }
        #expect(store.batches.withLock { $0 } == [1, 5])
        #expect(try sessions.list(EgressQuery()).records.map(\.id) == started.sorted { $0.sequence > $1.sequence }.map(\.id))
        #expect(store.records.withLock { $0.count } == 6)
    }

    @Test func stopAllReturnsOnceWhatTheStoppedEgressesReportedIsStoredAndHandedOn() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        let backend = FinishingBackend()
        let sessions = EgressStore(backend: backend, logger: logger, observer: observer, recordStore: store)
        let record = try await sessions.start(spec, request: echo)
        store.delay.withLock { $0 = 0.2 }
        await sessions.stopAll(timeout: .seconds(10))
        #expect(store.records.withLock { $0[record.id]?.status } == .aborted)
        #expect(observer.kinds == [.started, .updated, .ended])
    }

    /// An outage of the record store (Redis restarting): what the backend reports meanwhile is
    /// listed at once, written again until the store is back — in order, the newest last — and
    /// only then handed on (the webhooks); a request meanwhile is refused.
    @Test func whatTheBackendReportsDuringAnOutageIsWrittenInOrderOnceTheStoreIsBack() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        var configuration = EgressStoreConfiguration()
        configuration.unwrittenRetryInterval = .milliseconds(20)
        let backend = FinishingBackend()
        let sessions = EgressStore(backend: backend, configuration: configuration, logger: logger, observer: observer, recordStore: store)
        let record = try await sessions.start(spec, request: echo)
        let other = try await sessions.start(spec, request: echo)
        var reporter: EgressReporter?
        for _ in 0..<500 where reporter == nil {
            reporter = backend.reporters.withLock { $0[record.id] }
            try await Task.sleep(for: .milliseconds(2))
        }
        let report = try #require(reporter)
        store.failing.withLock { $0 = true }
        var results = EgressResults()
        results.files = [FileResult(filename: "a.mp4", location: "/out/a.mp4", size: 5, duration: 1)]
        report.report(.mediaStarted(at: 1))
        report.report(.progress(results))
        report.report(.failed(error: "the encoder failed", code: 500, details: "", results: results))
        await sessions.flush()
        #expect(sessions.record(record.id)?.status == .failed)  // listed as it is
        #expect(store.records.withLock { $0[record.id]?.status } == .starting)
        #expect(observer.kinds == [.started, .started])  // nothing handed on before it is durable
        #expect(sessions.unwrittenCount > 0)
        await #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try await sessions.stop(other.id) }
        #expect(sessions.record(other.id)?.status == .starting)

        store.failing.withLock { $0 = false }
        for _ in 0..<500 where sessions.unwrittenCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        await sessions.flush()
        #expect(sessions.unwrittenCount == 0)
        #expect(store.records.withLock { $0[record.id]?.status } == .failed)
        #expect(store.records.withLock { $0[record.id]?.results.files.first?.size } == 5)
        #expect(observer.received.withLock { $0.filter { $0.change.record.id == record.id }.map(\.change.kind) } == [.started, .updated, .ended])
        #expect(observer.received.withLock { $0.last?.change.record.error } == "the encoder failed")
    }

    /// A request refused during an outage changes nothing, even when the backend reports in the
    /// moment its version is being written: the report, made on the refused request's version,
    /// is made again on the version before it (else a refused StopEgress left the egress ENDING
    /// while it recorded on, and refused every later stop).
    @Test func aReportMadeWhileARefusedStopWasBeingWrittenKeepsNothingOfTheStop() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        var configuration = EgressStoreConfiguration()
        configuration.unwrittenRetryInterval = .milliseconds(20)
        let backend = FinishingBackend()
        let sessions = EgressStore(backend: backend, configuration: configuration, logger: logger, observer: observer, recordStore: store)
        let record = try await sessions.start(spec, request: echo)
        var reporter: EgressReporter?
        for _ in 0..<500 where reporter == nil {
            reporter = backend.reporters.withLock { $0[record.id] }
            try await Task.sleep(for: .milliseconds(2))
        }
        let report = try #require(reporter)
        report.report(.mediaStarted(at: 1))
        await sessions.flush()
        #expect(store.records.withLock { $0[record.id]?.status } == .active)

        // The stop's write is under way when the store fails; the backend reports meanwhile.
        store.held.withLock { $0 = true }
        store.failing.withLock { $0 = true }
        let stop = Task { () async throws(EgressStoreError) -> EgressRecord in try await sessions.stop(record.id) }
        for _ in 0..<500 where store.waiting.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(2)) }
        var results = EgressResults()
        results.files = [FileResult(filename: "a.mp4", location: "/out/a.mp4", size: 7, duration: 1)]
        report.report(.progress(results))
        store.release()
        await #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try await stop.value }
        await sessions.flush()
        let listed = try #require(sessions.record(record.id))
        #expect(listed.status == .active && !listed.details.contains("StopEgress") && listed.results.files.first?.size == 7)

        store.failing.withLock { $0 = false }
        for _ in 0..<500 where sessions.unwrittenCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        await sessions.flush()
        #expect(store.records.withLock { $0[record.id]?.status } == .active)
        #expect(store.records.withLock { $0[record.id]?.results.files.first?.size } == 7)
        // The stop is asked again, and taken.
        #expect(try await sessions.stop(record.id).status == .ending)
    }

    @Test func aFailedBatchFailsTheWritesQueuedBehindItAndGivesBackTheirPlaces() async throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        var configuration = EgressStoreConfiguration()
        configuration.maxLiveEgresses = 4
        let sessions = EgressStore(backend: RecoveringBackend(), configuration: configuration, logger: logger, observer: observer, recordStore: store)
        let (first, others) = try await queuedStarts(sessions, store, count: 3)
        await #expect(throws: EgressStoreError.capacityExhausted(limit: 4)) { try await sessions.start(spec, request: echo) }
        store.failing.withLock { $0 = true }
        store.release()
        for task in [first] + others {
            await #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try await task.value }
        }
        #expect(store.batches.withLock { $0 } == [1])  // the three behind it were never tried
        #expect(sessions.liveCount == 0 && observer.kinds.isEmpty)
        #expect(try sessions.list(EgressQuery()).records.isEmpty)
        store.failing.withLock { $0 = false }
        _ = try await sessions.start(spec, request: echo)
        #expect(try sessions.list(EgressQuery()).records.count == 1)
    }
}

/// A meter the test sets.
final class FixedMeter: CPUMeter {
    let value = Mutex(0.0)
    let cores = 2
    var coresInUse: Double { value.withLock { $0 } }
}

@Suite struct AdmissionTests {
    let logger = Logger(label: "test")
    let spec = EgressSpec(roomName: "lobby", source: .participant(identity: "alice", screenShare: false), encoding: .transcode(.default),
                          outputs: Outputs(files: [FileOutput(fileType: nil, path: "", disableManifest: false)]))
    let echo = EgressRecord.EchoedRequest(kind: .participant, encoded: [])

    func manager(meter: FixedMeter) -> EgressStore {
        var configuration = EgressStoreConfiguration()
        var costs = CPUCosts()
        costs.participant = 0.5
        costs.maxCPUUtilization = 0.8  // 1.6 of 2 cores
        configuration.cpuCosts = costs
        return EgressStore(backend: RecoveringBackend(), configuration: configuration, logger: logger, cpuMeter: meter)
    }

    @Test func startsAreAdmittedWhileTheirCostsFitAndTheMachineIsCounted() async throws {
        let meter = FixedMeter()
        let sessions = manager(meter: meter)
        for _ in 0..<3 { _ = try await sessions.start(spec, request: echo) }  // 1.5 of 1.6
        let refusal = await #expect(throws: EgressStoreError.self) { try await sessions.start(spec, request: echo) }
        #expect(refusal?.description == "not enough CPU: this egress needs 0.50 cores and 0.10 of the 1.60 egresses may use are free")
        #expect(sessions.liveCount == 3)
        #expect(abs((sessions.availableCPU ?? 0) - 0.1) < 1e-9)
        // What the machine measures counts when it is more than the costs.
        let light = manager(meter: meter)
        meter.value.withLock { $0 = 1.4 }
        _ = try await light.start(spec, request: echo)  // idle: always admitted
        await #expect(throws: EgressStoreError.self) { try await light.start(spec, request: echo) }
        meter.value.withLock { $0 = 0.2 }
        _ = try await light.start(spec, request: echo)
    }

    @Test func anEndedEgressGivesItsCostBackAndDrainingRefusesEveryStart() async throws {
        let sessions = manager(meter: FixedMeter())
        let first = try await sessions.start(spec, request: echo)
        for _ in 0..<2 { _ = try await sessions.start(spec, request: echo) }
        _ = try await sessions.stop(first.id)
        sessions.apply(.finalized(EgressResults()), to: first.id)
        #expect(abs(sessions.committedCPU - 1.0) < 1e-9)
        let later = try await sessions.start(spec, request: echo)
        sessions.beginDraining()
        await #expect(throws: EgressStoreError.shuttingDown) { try await sessions.start(spec, request: echo) }
        #expect(EgressStoreError.shuttingDown.description == "server is shutting down")
        _ = try await sessions.stop(later.id)  // the live ones go on
    }
}
