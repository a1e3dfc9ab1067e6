import Logging
import Synchronization
import Testing
@testable import SessionManager

/// A backend the test drives by hand: it records calls and lets the test report events.
final class ScriptedBackend: EgressBackend {
    let started = Mutex<[String: EgressReporter]>([:])
    let stopped = Mutex<[String]>([])
    let streamUpdates = Mutex<[(id: String, add: [StreamResult], remove: [String])]>([])

    func start(_ egress: EgressRecord, reporter: EgressReporter) async {
        started.withLock { $0[egress.id] = reporter }
    }

    func stop(_ egressID: String) async {
        stopped.withLock { $0.append(egressID) }
    }

    func updateStreams(_ egressID: String, add: [StreamResult], remove: [String]) async {
        streamUpdates.withLock { $0.append((egressID, add, remove)) }
    }

    func events(_ id: String) async throws -> EgressReporter {
        for _ in 0..<500 {
            if let events = started.withLock({ $0[id] }) { return events }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw CancellationError()
    }
}

@Suite struct EgressStoreTests {
    let backend = ScriptedBackend()
    let logger = Logger(label: "test")

    func manager(_ configure: (inout EgressStoreConfiguration) -> Void = { _ in }) -> EgressStore {
        var configuration = EgressStoreConfiguration()
        configure(&configuration)
        return EgressStore(backend: backend, configuration: configuration, logger: logger)
    }

    func spec(room: String = "lobby") -> EgressSpec {
        EgressSpec(roomName: room, source: .participant(identity: "alice", screenShare: false), encoding: .transcode(.default),
                   outputs: Outputs(files: [FileOutput(fileType: nil, path: "", disableManifest: false)]))
    }

    var echo: EgressRecord.EchoedRequest { .init(kind: .participant, encoded: []) }

    @Test func aRecordedEgressEndsCompleteWithItsResults() async throws {
        let sessions = manager()
        let record = try await sessions.start(spec(), request: echo)
        #expect(record.status == .starting)
        let events = try await backend.events(record.id)
        events.report(.roomIdentified("RM_abc"))
        #expect(sessions.record(record.id)?.roomID == "RM_abc")
        #expect(sessions.record(record.id)?.status == .starting)
        events.report(.mediaStarted(at: 1))
        #expect(sessions.record(record.id)?.status == .active)
        let stopping = try await sessions.stop(record.id)
        #expect(stopping.status == .ending && stopping.details == "End reason: StopEgress called")
        var results = EgressResults()
        results.files = [FileResult(filename: "a.mp4", location: "/out/a.mp4", size: 42)]
        events.report(.finalized(results))
        let ended = try #require(sessions.record(record.id))
        #expect(ended.status == .complete)
        #expect(ended.results.files.first?.size == 42)
        #expect(ended.endedAt >= ended.startedAt)
        #expect(sessions.liveCount == 0)
        for _ in 0..<500 where backend.stopped.withLock({ $0 }).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(backend.stopped.withLock { $0 } == [record.id])
    }

    @Test func stoppingBeforeMediaEndsAborted() async throws {
        let sessions = manager()
        let record = try await sessions.start(spec(), request: echo)
        _ = try await sessions.stop(record.id)
        try await backend.events(record.id).report(.finalized(EgressResults()))
        #expect(sessions.record(record.id)?.status == .aborted)
    }

    @Test func stopAnswersNotFoundAndAlreadyEnded() async throws {
        let sessions = manager()
        await #expect(throws: EgressStoreError.notFound(egressID: "EG_x")) { try await sessions.stop("EG_x") }
        let record = try await sessions.start(spec(), request: echo)
        try await backend.events(record.id).report(.failed(error: "boom", code: 500, details: "d", results: EgressResults()))
        await #expect(throws: EgressStoreError.alreadyEnded(egressID: record.id, status: .failed)) { try await sessions.stop(record.id) }
        #expect(sessions.record(record.id)?.error == "boom")
    }

    @Test func theSourceEndingMovesToEndingWithTheReason() async throws {
        let sessions = manager()
        let record = try await sessions.start(spec(), request: echo)
        let events = try await backend.events(record.id)
        events.report(.mediaStarted(at: 1))
        events.report(.sourceEnded(reason: "participant left"))
        #expect(sessions.record(record.id)?.status == .ending)
        #expect(sessions.record(record.id)?.details == "End reason: participant left")
    }

    @Test func aReportThatDoesNotFitTheStateChangesNothing() async throws {
        let sessions = manager()
        let record = try await sessions.start(spec(), request: echo)
        try await backend.events(record.id).report(.finalized(EgressResults()))
        #expect(sessions.record(record.id)?.status == .starting)
    }

    @Test func capacityIsEnforcedAndFreedWhenAnEgressEnds() async throws {
        let sessions = manager { $0.maxLiveEgresses = 1 }
        let first = try await sessions.start(spec(), request: echo)
        await #expect(throws: EgressStoreError.capacityExhausted(limit: 1)) { try await sessions.start(spec(), request: echo) }
        _ = try await sessions.stop(first.id)
        try await backend.events(first.id).report(.finalized(EgressResults()))
        _ = try await sessions.start(spec(), request: echo)
    }

    @Test func listingIsNewestFirstFilteredAndPaged() async throws {
        let sessions = manager { $0.pageSize = 2 }
        var ids: [String] = []
        for i in 0..<5 { ids.append(try await sessions.start(spec(room: i % 2 == 0 ? "even" : "odd"), request: echo).id) }
        let page1 = try sessions.list(EgressQuery(roomName: "even"))
        #expect(page1.records.map(\.id) == [ids[4], ids[2]])
        let page2 = try sessions.list(EgressQuery(roomName: "even", pageToken: page1.nextPageToken))
        #expect(page2.records.map(\.id) == [ids[0]])
        #expect(page2.nextPageToken == nil)
        #expect(try sessions.list(EgressQuery(egressID: ids[3])).records.map(\.id) == [ids[3]])
        #expect(throws: EgressStoreError.invalidPageToken) { try sessions.list(EgressQuery(pageToken: "zz")) }
    }

    @Test func theOldestEndedEgressesAreDroppedBeyondTheRetentionLimit() async throws {
        let sessions = manager { $0.maxEndedEgresses = 2 }
        var ids: [String] = []
        for _ in 0..<4 {
            let record = try await sessions.start(spec(), request: echo)
            ids.append(record.id)
            _ = try await sessions.stop(record.id)
            try await backend.events(record.id).report(.finalized(EgressResults()))
        }
        let live = try await sessions.start(spec(), request: echo)
        #expect(try sessions.list(EgressQuery()).records.map(\.id) == [live.id, ids[3], ids[2]])
    }

    @Test func updateStreamNeedsAStreamOutput() async throws {
        let sessions = manager()
        let record = try await sessions.start(spec(), request: echo)
        await #expect(throws: EgressStoreError.notStreaming) {
            try await sessions.updateStream(record.id, add: ["rtmp://a/b/c"], remove: [])
        }
        var streaming = spec()
        streaming.outputs.stream = StreamOutput(streamProtocol: .rtmp, urls: [])
        let withStream = try await sessions.start(streaming, request: echo)
        let updated = try await sessions.updateStream(withStream.id, add: ["rtmp://a/b/c"], remove: [])
        #expect(updated.results.streams.map(\.url) == ["rtmp://a/b/c"])
        await #expect(throws: EgressStoreError.streamNotFound(url: "rtmp://a/b/{stream_key}")) {
            try await sessions.updateStream(withStream.id, add: [], remove: ["rtmp://a/b/d"])
        }
    }

    @Test func aStreamCanBeRemovedByTheURLTheAPIShowsWhenThatNamesOne() async throws {
        let sessions = manager()
        var streaming = spec()
        streaming.outputs.stream = StreamOutput(streamProtocol: .rtmp, urls: [])
        let record = try await sessions.start(streaming, request: echo)
        _ = try await sessions.updateStream(record.id, add: ["rtmp://a/app/key1", "rtmp://a/app/key2", "rtmp://b/app/key3"], remove: [])
        // Two streams show as rtmp://a/app/{stream_key}: which one is meant cannot be told.
        await #expect(throws: EgressStoreError.streamNotFound(url: "rtmp://a/app/{stream_key}")) {
            try await sessions.updateStream(record.id, add: [], remove: ["rtmp://a/app/{stream_key}"])
        }
        let updated = try await sessions.updateStream(record.id, add: [], remove: ["rtmp://b/app/{stream_key}"])
        #expect(updated.results.streams.map(\.status) == [.active, .active, .finished])
    }

    @Test func streamUpdatesReachTheBackendAndItsReportsDoNotUndoThem() async throws {
        let sessions = manager()
        var streaming = spec()
        streaming.outputs.stream = StreamOutput(streamProtocol: .rtmp, urls: ["rtmp://h/app/one"])
        let record = try await sessions.start(streaming, request: echo)
        let first = try #require(record.results.streams.first)
        #expect(record.results.streams.count == 1 && first.url == "rtmp://h/app/one" && first.id.hasPrefix("ST_"))
        let events = try await backend.events(record.id)
        events.report(.mediaStarted(at: 1))

        let updated = try await sessions.updateStream(record.id, add: ["rtmp://h/app/two"], remove: ["rtmp://h/app/one"])
        #expect(updated.results.streams.map(\.status) == [.finished, .active])
        let added = updated.results.streams[1]
        // The backend is told, in order after start, with the ids the store gave.
        for _ in 0..<500 where backend.streamUpdates.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(2)) }
        let calls = backend.streamUpdates.withLock { $0 }
        #expect(calls.count == 1 && calls[0].id == record.id && calls[0].add == [added] && calls[0].remove == ["rtmp://h/app/one"])

        // A report written before the backend saw the update: the removed stream stays
        // FINISHED, the added one stays listed.
        var stale = EgressResults()
        stale.streams = [StreamResult(id: first.id, url: first.url, startedAt: 5)]
        events.report(.progress(stale))
        let merged = try #require(sessions.record(record.id)).results.streams
        #expect(merged.map(\.id) == [first.id, added.id] && merged.map(\.status) == [.finished, .active])
        #expect(merged[0].startedAt == 5)

        // The egress ends: a stream still ACTIVE in the record ends with it.
        _ = try await sessions.stop(record.id)
        events.report(.finalized(stale))
        let ended = try #require(sessions.record(record.id))
        #expect(ended.results.streams.allSatisfy { $0.status == .finished && $0.endedAt > 0 })
    }

    @Test func egressIDsLookLikeLiveKits() async {
        let id = EgressID.make()
        #expect(id.hasPrefix("EG_") && id.count == 15)
        #expect(id.dropFirst(3).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
    }
}
