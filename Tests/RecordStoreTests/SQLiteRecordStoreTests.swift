import Foundation
import RecordStore
import Testing
@testable import SessionManager

@Suite struct SQLiteRecordStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString)").path

    func record(_ sequence: UInt64, status: EgressState = .active) -> EgressRecord {
        var outputs = Outputs(files: [FileOutput(fileType: .mp4, path: "a/{room_name}", disableManifest: false)])
        outputs.stream = StreamOutput(streamProtocol: .rtmp, urls: ["rtmp://127.0.0.1/live/key"])
        var record = EgressRecord(
            id: "EG_\(sequence)", spec: EgressSpec(roomName: "lobby", source: .trackComposite(audioTrackID: "TR_a", videoTrackID: nil),
                                                  encoding: .transcode(.default), outputs: outputs,
                                                  webhooks: [RequestWebhook(url: "http://127.0.0.1/h", includeEvents: ["egress_ended"])]),
            request: .init(kind: .trackComposite, encoded: [0, 255, 7]), startedAt: 1_700_000_000_000_000_000,
            updatedAt: 1_700_000_001_000_000_000, sequence: sequence)
        record.state = status
        record.results.files = [FileResult(filename: "a/lobby.mp4", location: "/out/a/lobby.mp4", size: 99, duration: 3, startedAt: 1, endedAt: 4)]
        record.results.streams = [StreamResult(id: "ST_1", url: "rtmp://127.0.0.1/live/key", status: .failed, error: "refused")]
        record.details = "End reason: StopEgress called"
        return record
    }

    func json(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(value)
    }

    @Test func recordsAndEventsReadBackAsTheyWereWritten() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = [record(1), record(2, status: .ending(hadMedia: true)), record(3, status: .complete)]
        do {
            let store = try SQLiteRecordStore(directory: directory)
            for record in written { try store.save(record, change: nil) }
            try store.save(written[0], change: EgressChange(kind: .started, record: written[0], id: "EV_a", createdAt: 5))
            try store.save(written[1], change: EgressChange(kind: .updated, record: written[1], id: "EV_b", createdAt: 6))
            try store.removeChange("EV_a")
            try store.remove(["EG_3"])
        }
        let stored = try SQLiteRecordStore(directory: directory).load()
        #expect(try stored.records.map(json) == written.prefix(2).map(json))
        #expect(stored.changes.map(\.id) == ["EV_b"] && stored.changes.first?.record.status == .ending)
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/egress.sqlite")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aSecondStoreOnTheSameDirectoryIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SQLiteRecordStore(directory: directory)
        #expect(throws: EgressStoreError.self) { try SQLiteRecordStore(directory: directory) }
        withExtendedLifetime(first) {}
    }

    @Test func aFileThatIsNotADatabaseIsNamedAndLeftAsItWas() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let garbage = Data(repeating: 0x41, count: 8192)
        let path = directory + "/egress.sqlite"
        try garbage.write(to: URL(fileURLWithPath: path))
        do {
            _ = try SQLiteRecordStore(directory: directory)
            Issue.record("opened a file that is not a database")
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("not a database"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }
}
