import Logging
import Synchronization
import Testing
@testable import SessionManager

/// A record store in memory that can be told to fail, and an observer that keeps what it gets.
final class MemoryRecordStore: EgressRecordStore {
    let records = Mutex<[String: EgressRecord]>([:])
    let changes = Mutex<[EgressChange]>([])
    let failing = Mutex(false)

    func load() throws(EgressStoreError) -> StoredEgresses {
        StoredEgresses(records: records.withLock { Array($0.values) }, changes: changes.withLock { $0 })
    }

    func save(_ record: EgressRecord, change: EgressChange?) throws(EgressStoreError) {
        guard !failing.withLock({ $0 }) else { throw .storageFailed("the disk is full") }
        records.withLock { $0[record.id] = record }
        if let change { changes.withLock { $0.append(change) } }
    }

    func remove(_ ids: [String]) throws(EgressStoreError) {
        records.withLock { for id in ids { $0[id] = nil } }
    }

    func removeChange(_ id: String) throws(EgressStoreError) {
        changes.withLock { $0.removeAll { $0.id == id } }
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

    @Test func aStartThatCannotBeStoredIsRefusedAndChangesNothing() throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        let sessions = EgressStore(backend: RecoveringBackend(), logger: logger, observer: observer, recordStore: store)
        store.failing.withLock { $0 = true }
        #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try sessions.start(spec, request: echo) }
        #expect(try sessions.list(EgressQuery()).records.isEmpty)
        #expect(sessions.liveCount == 0)
        #expect(observer.kinds.isEmpty)
        store.failing.withLock { $0 = false }
        let record = try sessions.start(spec, request: echo)
        store.failing.withLock { $0 = true }
        #expect(throws: EgressStoreError.storageFailed("the disk is full")) { try sessions.stop(record.id) }
        #expect(sessions.record(record.id)?.status == .starting)
    }

    @Test func eachChangeIsStoredWithItsEventAndLeavesTheJournalWhenDone() throws {
        let store = MemoryRecordStore()
        let observer = KeepingObserver()
        let sessions = EgressStore(backend: RecoveringBackend(), logger: logger, observer: observer, recordStore: store)
        let record = try sessions.start(spec, request: echo)
        _ = try sessions.stop(record.id)
        #expect(store.records.withLock { $0[record.id]?.status } == .ending)
        #expect(store.changes.withLock { $0.map(\.kind) } == [.started, .updated])
        #expect(observer.received.withLock { $0.map(\.change.id) } == store.changes.withLock { $0.map(\.id) })
        observer.received.withLock { $0[0] }.done()
        #expect(store.changes.withLock { $0.map(\.kind) } == [.updated])
    }

    @Test func restoreListsEveryRecordAndFailsTheInterruptedOnesWithTheirFilesFinalized() async throws {
        let store = MemoryRecordStore()
        let first = EgressStore(backend: RecoveringBackend(), logger: logger, observer: KeepingObserver(), recordStore: store)
        let live = try first.start(spec, request: echo)
        let ended = try first.start(spec, request: echo)
        _ = try first.stop(ended.id)
        first.apply(.finalized(EgressResults()), to: ended.id)
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
        let next = try second.start(spec, request: echo)
        #expect(next.sequence > ended.sequence)
    }

    @Test func endedRecordsPastTheRetentionArePrunedHereAndInTheStore() throws {
        let store = MemoryRecordStore()
        var configuration = EgressStoreConfiguration()
        configuration.retention = .seconds(3600)
        let sessions = EgressStore(backend: RecoveringBackend(), configuration: configuration, logger: logger, recordStore: store)
        let old = try sessions.start(spec, request: echo)
        _ = try sessions.stop(old.id)
        sessions.apply(.finalized(EgressResults()), to: old.id)
        let live = try sessions.start(spec, request: echo)
        let endedAt = try #require(sessions.record(old.id)?.endedAt)
        #expect(sessions.pruneExpired(now: endedAt + 3_599_000_000_000) == 0)
        #expect(sessions.pruneExpired(now: endedAt + 3_601_000_000_000) == 1)
        #expect(sessions.record(old.id) == nil && store.records.withLock { $0[old.id] } == nil)
        #expect(sessions.record(live.id) != nil && store.records.withLock { $0[live.id] } != nil)
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

    @Test func startsAreAdmittedWhileTheirCostsFitAndTheMachineIsCounted() throws {
        let meter = FixedMeter()
        let sessions = manager(meter: meter)
        for _ in 0..<3 { _ = try sessions.start(spec, request: echo) }  // 1.5 of 1.6
        let refusal = #expect(throws: EgressStoreError.self) { try sessions.start(spec, request: echo) }
        #expect(refusal?.description == "not enough CPU: this egress needs 0.50 cores and 0.10 of the 1.60 egresses may use are free")
        #expect(sessions.liveCount == 3)
        #expect(abs((sessions.availableCPU ?? 0) - 0.1) < 1e-9)
        // What the machine measures counts when it is more than the costs.
        let light = manager(meter: meter)
        meter.value.withLock { $0 = 1.4 }
        _ = try light.start(spec, request: echo)  // idle: always admitted
        #expect(throws: EgressStoreError.self) { try light.start(spec, request: echo) }
        meter.value.withLock { $0 = 0.2 }
        _ = try light.start(spec, request: echo)
    }

    @Test func anEndedEgressGivesItsCostBackAndDrainingRefusesEveryStart() throws {
        let sessions = manager(meter: FixedMeter())
        let first = try sessions.start(spec, request: echo)
        for _ in 0..<2 { _ = try sessions.start(spec, request: echo) }
        _ = try sessions.stop(first.id)
        sessions.apply(.finalized(EgressResults()), to: first.id)
        #expect(abs(sessions.committedCPU - 1.0) < 1e-9)
        let later = try sessions.start(spec, request: echo)
        sessions.beginDraining()
        #expect(throws: EgressStoreError.shuttingDown) { try sessions.start(spec, request: echo) }
        #expect(EgressStoreError.shuttingDown.description == "server is shutting down")
        _ = try sessions.stop(later.id)  // the live ones go on
    }
}
