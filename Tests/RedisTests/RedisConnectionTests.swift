import Foundation
import Testing
import Redis
import RedisTestServer

/// The hiredis wrapper against a real redis-server: values, binary-safe strings, pipelines,
/// transactions, logins, and what a caller sees when Redis goes away and comes back.
@Suite(.serialized) struct RedisConnectionTests {
    @Test func repliesOfEveryKindComeBackAsValues() throws {
        let server = try RedisServer()
        let redis = try RedisConnection(endpoint: server.endpoint, timeout: .seconds(2))
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42]  // NUL, CR LF, and RESP's own markers
        #expect(try redis.command([Array("SET".utf8), Array("k".utf8), binary]) == .status("OK"))
        #expect(try redis.command(["GET", "k"]) == .string(binary))
        #expect(try redis.command(["GET", "missing"]) == .null)
        #expect(try redis.command(["INCRBY", "n", "41"]) == .integer(41))
        try redis.command(["RPUSH", "list", "a", "", "c"])
        #expect(try redis.command(["LRANGE", "list", "0", "-1"]) == .array([.string(Array("a".utf8)), .string([]), .string(Array("c".utf8))]))
        #expect(throws: RedisError.replied("WRONGTYPE Operation against a key holding the wrong kind of value")) {
            try redis.command(["GET", "list"])
        }
        // An error reply leaves the connection usable.
        #expect(try redis.command(["PING"]) == .status("PONG"))
    }

    @Test func aPipelineAnswersInOrderWithErrorsInTheirPlace() throws {
        let server = try RedisServer()
        let redis = try RedisConnection(endpoint: server.endpoint, timeout: .seconds(2))
        let commands = (0..<1000).map { [Array("SET".utf8), Array("key\($0)".utf8), Array("\($0)".utf8)] }
        #expect(try redis.pipeline(commands).allSatisfy { $0 == .status("OK") })
        let replies = try redis.pipeline([[Array("GET".utf8), Array("key7".utf8)], [Array("NOSUCHCOMMAND".utf8)], [Array("GET".utf8), Array("key999".utf8)]])
        #expect(replies.count == 3)
        #expect(replies[0] == .string(Array("7".utf8)))
        #expect(replies[1].text == nil && "\(replies[1])".contains("unknown command"))
        #expect(replies[2] == .string(Array("999".utf8)))
    }

    @Test func aTransactionIsAllOrNone() throws {
        let server = try RedisServer()
        let redis = try RedisConnection(endpoint: server.endpoint, timeout: .seconds(2))
        let set = { (key: String, value: String) in [Array("SET".utf8), Array(key.utf8), Array(value.utf8)] }
        #expect(try redis.transaction([set("a", "1"), set("b", "2")]) == [.status("OK"), .status("OK")])
        // A command refused while queued aborts the whole transaction: nothing is written.
        #expect {
            _ = try redis.transaction([set("a", "changed"), [Array("SET".utf8), Array("only-a-key".utf8)]])
        } throws: { error in
            "\(error)".contains("EXECABORT") && "\(error)".contains("wrong number of arguments")
        }
        #expect(try redis.command(["GET", "a"]) == .string(Array("1".utf8)))
    }

    @Test func aPasswordAndADatabaseFromTheURLAreUsed() throws {
        let server = try RedisServer(arguments: ["--requirepass", "s3cret"])
        #expect {
            _ = try RedisConnection(endpoint: RedisEndpoint(url: "redis://:wrong@127.0.0.1:\(server.port)"), timeout: .seconds(2))
        } throws: { error in
            "\(error)".contains("AUTH refused") && !"\(error)".contains("wrong")
        }
        #expect(throws: RedisError.replied("NOAUTH Authentication required.")) {
            try RedisConnection(endpoint: server.endpoint, timeout: .seconds(2)).command(["GET", "x"])
        }
        let third = try RedisConnection(endpoint: RedisEndpoint(url: "redis://:s3cret@127.0.0.1:\(server.port)/3"), timeout: .seconds(2))
        try third.command(["SET", "where", "three"])
        let first = try RedisConnection(endpoint: RedisEndpoint(url: "redis://:s3cret@127.0.0.1:\(server.port)"), timeout: .seconds(2))
        #expect(try first.command(["GET", "where"]) == .null)
        try first.command(["SELECT", "3"])
        #expect(try first.command(["GET", "where"]) == .string(Array("three".utf8)))
    }

    @Test func nobodyListeningIsAConnectionErrorNamingTheServer() throws {
        let port = try RedisServer.freePort()
        #expect {
            _ = try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: port), timeout: .seconds(1))
        } throws: { error in
            "\(error)".contains("127.0.0.1:\(port)") && "\(error)".contains("refused")
        }
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        // A listener that accepts (the kernel's backlog) and never speaks.
        let listener = try TCPListener()
        let redis = try RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: listener.port), timeout: .milliseconds(300))
        let started = ContinuousClock.now
        #expect(throws: RedisError.connectionFailed("redis://127.0.0.1:\(listener.port)/0: timed out")) { try redis.command(["PING"]) }
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(redis.isBroken)
    }

    @Test func theClientReconnectsOnceRedisIsBack() throws {
        let server = try RedisServer()
        let client = RedisClient(endpoint: server.endpoint, timeout: .seconds(1))
        try client.command(["SET", "k", "v"])
        let port = server.port
        server.kill()
        #expect {
            try client.command(["GET", "k"])
        } throws: { error in
            guard case RedisError.connectionFailed = error else { return false }
            return true
        }
        let again = try RedisServer(port: port)
        #expect(try client.command(["GET", "k"]) == .null)  // a new server, empty: but reached
        try client.command(["SET", "k", "w"])
        #expect(try client.command(["GET", "k"]) == .string(Array("w".utf8)))
    }

    /// A Redis restarted while the client was idle closed its connection: the first call after
    /// goes to the new server instead of failing (the idle connection is checked with PING).
    @Test func aRestartWhileIdleIsNotSeenByTheNextCall() throws {
        let server = try RedisServer()
        let client = RedisClient(endpoint: server.endpoint, timeout: .seconds(1))
        try client.command(["SET", "k", "v"])
        let port = server.port
        server.kill()
        let again = try RedisServer(port: port)
        Thread.sleep(forTimeInterval: 1.1)  // idle past RedisClient.idleCheck
        #expect(try client.command(["GET", "k"]) == .null)
        _ = again
    }
}

/// A TCP socket on 127.0.0.1 that accepts nothing itself: connections wait in its backlog.
final class TCPListener {
    let socket: Int32
    let port: Int

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && listen(socket, 8) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard listening else { throw RedisServerError(description: "cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}
