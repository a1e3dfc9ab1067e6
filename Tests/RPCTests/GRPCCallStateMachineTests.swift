import NIOCore
import Testing
@testable import RPC

/// The gRPC call's rules, event by event, without a socket: what the call handler is told to do.
@Suite struct GRPCCallStateMachineTests {
    typealias Machine = GRPCCallStateMachine

    /// The machine behind a reference, so that an expectation can feed it an event.
    final class Call {
        var machine = Machine()

        init(streaming: Bool = false, limit: Int = 1024) {
            machine.accept(method: streaming ? "ServerReflectionInfo" : "Check", streamingRequests: streaming, limit: limit)
        }

        func receiveData(_ data: ByteBuffer) -> Machine.Action { machine.receiveData(data) }
        func receiveEnd() -> Machine.Action { machine.receiveEnd() }
        func start() -> Bool { machine.start() }
        func sendMessage() -> Machine.HeadersFirst? { machine.sendMessage() }
        func finish() -> Machine.HeadersFirst? { machine.finish() }
        func fail(_ error: RPCError) -> Machine.Action { machine.fail(error) }
        func deadlineExpired() -> Machine.Action { machine.deadlineExpired() }
        func streamClosed() -> Bool { machine.streamClosed() }
        var isDone: Bool { machine.isDone }
    }

    /// One length-prefixed message holding `payload`.
    func framed(_ payload: [UInt8], compressed: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(compressed ? 1 : 0))
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        return buffer
    }

    func frame(_ payload: [UInt8]) -> Machine.Frame {
        Machine.Frame(compressed: false, payload: ByteBuffer(bytes: payload))
    }

    func unary(limit: Int = 1024) -> Call {
        Call(limit: limit)
    }

    @Test func aUnaryCallRunsOnceItsOneMessageIsWholeAndTheRequestEnds() {
        let machine = unary()
        var bytes = framed([1, 2, 3])
        #expect(machine.receiveData(bytes.readSlice(length: 4)!) == .none)
        #expect(machine.receiveData(bytes) == .none)
        #expect(machine.receiveEnd() == .run(frame([1, 2, 3])))
        #expect(machine.start())
        #expect(machine.sendMessage() == Machine.HeadersFirst(needed: true))
        #expect(machine.finish() == Machine.HeadersFirst(needed: false))
        #expect(machine.isDone)
    }

    @Test func aSecondMessageInAUnaryCallEndsItAtOnce() {
        let machine = unary()
        var two = framed([1])
        var second = framed([2])
        two.writeBuffer(&second)
        #expect(machine.receiveData(two) == .sendStatus(
            RPCError(.internal, "Check takes one request message; the client sent more"),
            trailersOnly: true, stopRequest: true, cancelHandler: false))
        #expect(machine.receiveEnd() == .none)
    }

    @Test func theRequestMustNotEndInsideAMessageOrBeforeOne() {
        let cut = unary()
        _ = cut.receiveData(framed([1, 2, 3]).getSlice(at: 0, length: 6)!)
        #expect(cut.receiveEnd() == .sendStatus(RPCError(.internal, "the request ended inside a message"),
                                                trailersOnly: true, stopRequest: false, cancelHandler: false))
        let empty = unary()
        #expect(empty.receiveEnd() == .sendStatus(
            RPCError(.internal, "the client ended the stream without sending a request message"),
            trailersOnly: true, stopRequest: false, cancelHandler: false))
    }

    /// The prefix alone is enough: the message over the limit is never buffered.
    @Test func aMessageOverTheLimitIsRefusedFromItsPrefix() {
        let machine = unary(limit: 100)
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(101))
        #expect(machine.receiveData(prefix) == .sendStatus(
            RPCError(.resourceExhausted, "received message larger than max (101 vs. 100)"),
            trailersOnly: true, stopRequest: true, cancelHandler: false))
        let exact = unary(limit: 100)
        #expect(exact.receiveData(framed(Array(repeating: 7, count: 100))) == .none)
    }

    @Test func theStatusIsSentOnceAndNothingAfterIt() {
        let finished = unary()
        _ = finished.receiveData(framed([1]))
        _ = finished.receiveEnd()
        _ = finished.start()
        #expect(finished.finish() == Machine.HeadersFirst(needed: true))
        #expect(finished.fail(RPCError(.internal, "late")) == .none)
        #expect(finished.sendMessage() == nil)

        let failed = unary()
        _ = failed.receiveData(framed([1]))
        _ = failed.receiveEnd()
        _ = failed.start()
        _ = failed.sendMessage()
        #expect(failed.fail(RPCError(.unavailable, "gone")) == .sendStatus(
            RPCError(.unavailable, "gone"), trailersOnly: false, stopRequest: false, cancelHandler: true))
        #expect(failed.finish() == nil)
        #expect(failed.sendMessage() == nil)
    }

    @Test func aStreamingCallTakesItsMessagesAsTheyCome() {
        let machine = Call(streaming: true)
        var two = framed([1])
        var second = framed([2, 2])
        two.writeBuffer(&second)
        #expect(machine.receiveData(two) == .deliver([frame([1]), frame([2, 2])]))
        #expect(machine.receiveData(framed([3]).getSlice(at: 0, length: 5)!) == .none)
        #expect(machine.receiveData(ByteBuffer(bytes: [3])) == .deliver([frame([3])]))
        #expect(machine.receiveEnd() == .endRequests)
        #expect(machine.receiveData(framed([4])) == .none)
        #expect(machine.sendMessage() == Machine.HeadersFirst(needed: true))
        #expect(machine.sendMessage() == Machine.HeadersFirst(needed: false))
        #expect(machine.finish() == Machine.HeadersFirst(needed: false))
    }

    @Test func theDeadlineEndsTheCallAndCancelsARunningHandler() {
        let collecting = unary()
        #expect(collecting.deadlineExpired() == .sendStatus(RPCError(.deadlineExceeded, "deadline exceeded"),
                                                            trailersOnly: true, stopRequest: true, cancelHandler: false))
        let running = unary()
        _ = running.receiveData(framed([1]))
        _ = running.receiveEnd()
        _ = running.start()
        #expect(running.deadlineExpired() == .sendStatus(RPCError(.deadlineExceeded, "deadline exceeded"),
                                                         trailersOnly: true, stopRequest: true, cancelHandler: true))
    }

    @Test func aResetStreamCancelsARunningHandlerAndAWaitingOneNeverStarts() {
        let running = unary()
        _ = running.receiveData(framed([1]))
        _ = running.receiveEnd()
        _ = running.start()
        #expect(running.streamClosed())
        #expect(running.sendMessage() == nil)

        let waiting = unary()
        _ = waiting.receiveData(framed([1]))
        _ = waiting.receiveEnd()
        #expect(!waiting.streamClosed())
        #expect(!waiting.start())
    }
}
