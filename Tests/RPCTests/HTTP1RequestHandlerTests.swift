import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import HTTP

/// The HTTP/1.1 handlers on an `EmbeddedChannel`, byte for byte: answers and their framing, the
/// size limits (refused before the responder sees anything), the response budget at its exact
/// threshold, the request and idle timeouts, and graceful shutdown.
@Suite struct HTTP1RequestHandlerTests {
    /// What the responder saw: "METHOD path body" per request.
    final class Seen: Sendable {
        let requests = Mutex<[String]>([])
        var all: [String] { requests.withLock { $0 } }
    }

    /// A connection whose responder answers "<path> <body>" padded to `answerSize` bytes.
    func connection(answerSize: Int = 0, _ configure: (inout HTTP1Configuration) -> Void = { _ in })
        throws -> (EmbeddedChannel, EmbeddedWire, Seen) {
        var configuration = HTTP1Configuration()
        configure(&configuration)
        let seen = Seen()
        let responder: HTTPResponder = { request in
            let body = String(buffer: request.body)
            seen.requests.withLock { $0.append("\(request.method) \(request.path) \(body)") }
            let text = "\(request.path) \(body)"
            return HTTPResponse(status: 200, body: ByteBuffer(string: text + String(repeating: ".", count: max(0, answerSize - text.utf8.count))))
        }
        let channel = EmbeddedChannel()
        let wire = EmbeddedWire()
        try channel.pipeline.syncOperations.addHandler(wire)
        try HTTPServer.configureHTTP1(channel, configuration: configuration, responder: responder,
                                      executor: EventLoopTaskExecutor(channel.embeddedEventLoop), logger: Logger(label: "test"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7880)).wait()
        return (channel, wire, seen)
    }

    func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        channel.settle()
    }

    func post(_ path: String, _ body: String, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    /// The status codes of the answers in `text`, in order.
    func statuses(_ text: String) -> [Int] {
        text.components(separatedBy: "HTTP/1.").dropFirst().compactMap { Int($0.dropFirst(2).prefix(3)) }
    }

    @Test func anAnswerCarriesItsLengthAndTheConnectionStaysOpen() throws {
        let (channel, wire, seen) = try connection()
        try send(channel, post("/a", "hello"))
        let answer = wire.takeText()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("content-length: 8\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n/a hello"))
        #expect(!answer.lowercased().contains("connection: close"))
        #expect(channel.isActive)
        try send(channel, post("/b", "again"))
        #expect(wire.takeText().hasSuffix("/b again"))
        #expect(seen.all == ["POST /a hello", "POST /b again"])
        _ = try? channel.finish()
    }

    @Test func http10WithoutKeepAliveIsClosedAfterItsAnswer() throws {
        let (channel, wire, _) = try connection()
        try send(channel, "GET /old HTTP/1.0\r\n\r\n")
        let answer = wire.takeText()
        #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(answer.contains("connection: close\r\n"))
        #expect(!channel.isActive)
    }

    @Test func aBodyAtTheLimitIsAnsweredAndOneByteMoreIs413BeforeTheResponderSeesIt() throws {
        let (channel, wire, seen) = try connection { $0.maxBodySize = 100 }
        try send(channel, post("/fits", String(repeating: "a", count: 100)))
        #expect(statuses(wire.takeText()) == [200])
        try send(channel, post("/over", String(repeating: "a", count: 101)))
        let refusal = wire.takeText()
        #expect(statuses(refusal) == [413])
        #expect(refusal.contains("connection: close\r\n"))
        #expect(refusal.hasSuffix("the request body of 101 bytes exceeds the limit of 100 bytes\n"))
        #expect(!channel.isActive)
        #expect(seen.all.count == 1)
    }

    @Test func aChunkedBodyOverTheLimitIs413() throws {
        let (channel, wire, seen) = try connection { $0.maxBodySize = 100 }
        let chunk = String(repeating: "b", count: 60)
        try send(channel, "POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3c\r\n\(chunk)\r\n3c\r\n\(chunk)\r\n0\r\n\r\n")
        let refusal = wire.takeText()
        #expect(statuses(refusal) == [413])
        #expect(refusal.hasSuffix("the request body exceeds the limit of 100 bytes\n"))
        #expect(seen.all.isEmpty)
    }

    @Test func aHeadOverTheLimitIs431AndGarbageIs400() throws {
        let (channel, wire, seen) = try connection { $0.maxHeadSize = 200 }
        try send(channel, "GET / HTTP/1.1\r\nx-long: \(String(repeating: "h", count: 300))\r\n\r\n")
        let refusal = wire.takeText()
        #expect(statuses(refusal) == [431])
        #expect(refusal.hasSuffix("the request head exceeds 200 bytes\n"))
        #expect(!channel.isActive)

        let (garbled, garbledWire, _) = try connection()
        try send(garbled, "GET / HTTP/1.1\r\nno colon here\r\n\r\n")
        let answer = garbledWire.takeText()
        #expect(statuses(answer) == [400])
        #expect(answer.hasSuffix("malformed HTTP/1.1 request\n"))
        #expect(seen.all.isEmpty)
    }

    /// Answers of 600 bytes (plus their heads) against a budget: the next pipelined answer is
    /// made only while less than the budget is unsent, and no more is read until then.
    @Test func theResponseBudgetHoldsTheNextAnswerAndReadsAtItsThreshold() throws {
        // The budget counts answers' bodies: a budget of exactly two holds the third.
        let twoAnswers = 2 * 600
        for (budget, answeredAtOnce) in [(twoAnswers, 2), (twoAnswers + 1, 3)] {
            let (channel, wire, seen) = try connection(answerSize: 600) { $0.responseBudget = budget }
            wire.holdsWrites = true
            try send(channel, post("/1", "") + post("/2", "") + post("/3", ""))
            #expect(statuses(wire.takeText()) == Array(repeating: 200, count: answeredAtOnce), "budget \(budget)")
            #expect(seen.all.count == answeredAtOnce)
            let readsBefore = wire.reads
            channel.read()
            #expect(wire.reads == readsBefore, "a read passed while over the budget")
            if answeredAtOnce == 2 {
                wire.release(wire.heldWrites.count / 2)  // the client reads the first answer
                channel.settle()
                #expect(statuses(wire.takeText()) == [200])
                #expect(seen.all.count == 3)
            }
            wire.release(wire.heldWrites.count)  // and the rest
            channel.settle()
            #expect(wire.reads == readsBefore + 1, "the held read resumes")
            wire.release(wire.heldWrites.count)
            _ = try? channel.finish()
        }
    }

    @Test func aRequestNotWholeWithinItsTimeIs408() throws {
        let (channel, wire, _) = try connection { $0.requestReadTimeout = .seconds(10) }
        try send(channel, "POST /slow HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc")
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        #expect(wire.takeText().isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(statuses(wire.takeText()) == [408])
        #expect(!channel.isActive)
    }

    @Test func anIdleConnectionIsClosedAtItsIdleTimeout() throws {
        let (channel, wire, _) = try connection { $0.idleTimeout = .seconds(60) }
        try send(channel, post("/a", "x"))
        #expect(statuses(wire.takeText()) == [200])
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    /// The answer being made when shutdown starts is the last: it says `connection: close`, a
    /// pipelined request behind it is not answered (the client sends it again elsewhere).
    @Test func onShutdownTheAnswerInProgressIsTheLast() throws {
        let (channel, wire, seen) = try connection()
        try channel.writeInbound(ByteBuffer(string: post("/first", "1") + post("/second", "2")))
        channel.pipeline.fireUserInboundEventTriggered(HTTPGracefulShutdownEvent())
        channel.settle()
        let answers = wire.takeText()
        #expect(statuses(answers) == [200])
        #expect(answers.contains("connection: close\r\n"))
        #expect(answers.hasSuffix("/first 1"))
        #expect(seen.all == ["POST /first 1"])
        #expect(!channel.isActive)
    }
}
