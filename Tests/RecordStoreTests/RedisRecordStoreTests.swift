import Foundation
import RecordStore
import Redis
import RedisTestServer
import Testing
@testable import SessionManager

/// The record store on a real redis-server: what one server wrote, the next reads back; each
/// server has its own journal; a batch is all or none; a Redis that is gone is a clear error.
@Suite(.serialized) struct RedisRecordStoreTests {
    let records = SQLiteRecordStoreTests()

    func store(_ server: RedisServer, node: String = "node-a") throws -> RedisRecordStore {
        try RedisRecordStore(redis: RedisClient(endpoint: server.endpoint, timeout: .seconds(2)), node: node)
    }

    @Test func recordsAndChangesReadBackAsTheyWereWritten() throws {
        let server = try RedisServer()
        let written = [records.record(1), records.record(2, status: .ending(hadMedia: true)), records.record(3, status: .complete)]
        do {
            let store = try store(server)
            for record in written { try store.save(record, change: nil) }
            try store.save(written[0], change: EgressChange(kind: .started, record: written[0], id: "EV_a", createdAt: 5))
            try store.save(written[1], change: EgressChange(kind: .updated, record: written[1], id: "EV_b", createdAt: 6))
            try store.save(written[0], change: EgressChange(kind: .updated, record: written[0], id: "EV_c", createdAt: 7))
            try store.removeChange("EV_a")
            try store.remove(["EG_3"])
        }
        let stored = try store(server).load()
        #expect(try stored.records.map(records.json) == written.prefix(2).map(records.json))
        #expect(stored.changes.map(\.id) == ["EV_b", "EV_c"])  // in the order they were made
        #expect(stored.changes.first?.record.status == .ending)
        // The keys are as the README documents them.
        let redis = RedisClient(endpoint: server.endpoint)
        #expect(try redis.command(["ZRANGE", "egress:egresses", "0", "-1"]).elements?.compactMap(\.text) == ["EG_1", "EG_2"])
        #expect(try redis.command(["HGET", "egress:egress:{EG_1}", "room"]).text == "lobby")
        #expect(try redis.command(["EXISTS", "egress:egress:{EG_3}"]) == .integer(0))
        #expect(try redis.command(["HLEN", "egress:changes:{node-a}"]) == .integer(2))
    }

    /// Each server takes up its own records and journal; another's are that server's to take up
    /// (or, when it is lost, the cleaning node's).
    @Test func eachServerReadsItsOwnRecordsAndJournal() throws {
        let server = try RedisServer()
        let a = try store(server, node: "node-a"), b = try store(server, node: "node-b")
        try a.save(records.record(1), change: EgressChange(kind: .started, record: records.record(1), id: "EV_a", createdAt: 1))
        try b.save(records.record(2), change: EgressChange(kind: .started, record: records.record(2), id: "EV_b", createdAt: 1))
        let seenByB = try store(server, node: "node-b").load()
        #expect(seenByB.records.map(\.id) == ["EG_2"])
        #expect(seenByB.changes.map(\.id) == ["EV_b"])
    }

    /// Redis applies the rest of a transaction when one command fails while it runs (it has no
    /// rollback): the failure is reported, and the batch's records are written whole next time.
    @Test func aBatchRedisFailsIsReportedAndWrittenWholeNextTime() throws {
        let server = try RedisServer()
        let store = try store(server)
        let redis = RedisClient(endpoint: server.endpoint)
        // Someone else's value where the index should be: the batch's ZADD is refused.
        try redis.command(["SET", "egress:egresses", "not a sorted set"])
        #expect {
            try store.write([.save(records.record(1), change: nil), .save(records.record(2), change: nil)])
        } throws: { error in
            "\(error)".contains("2 changes cannot be written") && "\(error)".contains("WRONGTYPE")
        }
        try redis.command(["DEL", "egress:egresses"])
        try store.write([.save(records.record(1), change: nil), .save(records.record(2), change: nil)])
        #expect(try store.load().records.map(\.id) == ["EG_1", "EG_2"])
    }

    @Test func aRedisThatIsGoneIsNamedAndAReturningOneIsUsedAgain() throws {
        let server = try RedisServer()
        let port = server.port
        let store = try store(server)
        try store.save(records.record(1), change: nil)
        server.kill()
        #expect {
            try store.save(records.record(2), change: nil)
        } throws: { error in
            "\(error)".contains("Redis redis://127.0.0.1:\(port)/0") && "\(error)".contains("connection failed")
        }
        let again = try RedisServer(port: port)
        try store.save(records.record(3), change: nil)
        #expect(try store.load().records.map(\.id) == ["EG_3"])  // a fresh Redis: what it holds
        _ = again
        #expect {
            _ = try RedisRecordStore(redis: RedisClient(endpoint: RedisEndpoint(host: "127.0.0.1", port: try RedisServer.freePort())), node: "n")
        } throws: { error in
            "\(error)".contains("cannot be used") && "\(error)".contains("refused")
        }
    }

    /// ListEgress in a cluster: every node's records, newest first, pages that neither skip nor
    /// repeat a record when two nodes gave the same sequence, and the filters of one node.
    @Test func everyNodesRecordsListInPagesWithoutGapsAtEqualSequences() throws {
        let server = try RedisServer()
        let a = try store(server, node: "node-a"), b = try store(server, node: "node-b")
        func record(_ id: String, _ sequence: UInt64, room: String = "lobby", status: EgressState = .active) -> EgressRecord {
            let record = records.record(sequence, status: status)
            var spec = record.spec
            spec.roomName = room
            return EgressRecord(EgressRecord.Fixed(id: id, spec: spec, request: record.request, sequence: sequence, startedAt: record.startedAt),
                                record.progress)
        }
        // Sequences 1..5 from a, 3..7 from b: 3, 4 and 5 twice.
        for n in UInt64(1)...5 { try a.save(record("EG_a\(n)", n, room: n == 2 ? "other" : "lobby"), change: nil) }
        for n in UInt64(3)...7 { try b.save(record("EG_b\(n)", n, status: n == 7 ? .complete : .active), change: nil) }
        var pages: [[String]] = []
        var token: String?
        repeat {
            let page = try a.list(EgressQuery(pageToken: token), pageSize: 3)
            pages.append(page.records.map(\.id))
            token = page.nextPageToken
        } while token != nil
        #expect(pages == [["EG_b7", "EG_b6", "EG_b5"], ["EG_a5", "EG_b4", "EG_a4"], ["EG_b3", "EG_a3", "EG_a2"], ["EG_a1"]])
        #expect(try a.list(EgressQuery(pageToken: ""), pageSize: 3).records.map(\.id) == pages[0])  // empty: the first page
        #expect(try b.list(EgressQuery(roomName: "other"), pageSize: 100).records.map(\.id) == ["EG_a2"])
        #expect(try b.list(EgressQuery(activeOnly: true), pageSize: 100).records.count == 9)
        #expect(try b.list(EgressQuery(egressID: "EG_a4"), pageSize: 100).records.map(\.id) == ["EG_a4"])
        #expect(try a.node(of: "EG_b3") == "node-b")
        #expect(try a.node(of: "EG_none") == nil)
        #expect(throws: EgressStoreError.invalidPageToken) { try a.list(EgressQuery(pageToken: "p12"), pageSize: 3) }
        #expect(throws: EgressStoreError.invalidPageToken) { try a.list(EgressQuery(pageToken: "c12."), pageSize: 3) }
    }
}
