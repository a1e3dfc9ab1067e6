import Foundation
import Glibc
@testable import Ingest
import NIOCore
import Support
import Synchronization
import Testing

/// The hub's own event loop and UDP port: tasks from other threads wake it, timers fire in
/// order and can be cancelled, shutting down fails what is left; the port reads every datagram
/// waiting in one go, with the kernel's receive time and the sender's address.
@Suite struct HubEventLoopTests {
    @Test func tasksFromOtherThreadsRunOnTheLoopInOrder() async throws {
        let loop = try HubEventLoop(name: "test-loop")
        defer { Task { await loop.shutdown() } }
        #expect(!loop.inEventLoop)
        // Asleep in poll with no timer (its first turn long done): only a task's signal wakes it.
        try await Task.sleep(for: .milliseconds(100))
        let seen = Mutex<[Int]>([])
        let onLoop = Mutex<[Bool]>([])
        for index in 0..<100 { loop.execute { seen.withLock { $0.append(index) } } }
        loop.execute { onLoop.withLock { $0.append(loop.inEventLoop) } }
        try await waitFor { onLoop.withLock { !$0.isEmpty } }
        #expect(onLoop.withLock { $0 } == [true])
        #expect(seen.withLock { $0 } == Array(0..<100))
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() async throws {
        let loop = try HubEventLoop(name: "test-loop")
        defer { Task { await loop.shutdown() } }
        let fired = Mutex<[String]>([])
        let start = NIODeadline.now()
        let late = loop.scheduleTask(in: .milliseconds(60)) { fired.withLock { $0.append("60") } }
        let early = loop.scheduleTask(in: .milliseconds(20)) { fired.withLock { $0.append("20") } }
        let cancelled = loop.scheduleTask(in: .milliseconds(40)) { fired.withLock { $0.append("40") } }
        cancelled.cancel()
        try await early.futureResult.get()
        try await late.futureResult.get()
        #expect(NIODeadline.now() - start >= .milliseconds(60))
        await #expect(throws: EventLoopError.cancelled) { try await cancelled.futureResult.get() }
        #expect(fired.withLock { $0 } == ["20", "60"])
        // Timers that come due together (the loop busy meanwhile) fire earliest first.
        let order = Mutex<[Int]>([])
        // Scheduled in one task on the loop, which then stays busy past every deadline.
        let together = try await loop.submit {
            let scheduled = [50, 10, 40, 20, 60, 30].map { ms in
                loop.scheduleTask(in: .milliseconds(Int64(ms))) { order.withLock { $0.append(ms) } }.futureResult
            }
            usleep(100_000)
            return scheduled
        }.get()
        for timer in together { try await timer.get() }
        #expect(order.withLock { $0 } == [10, 20, 30, 40, 50, 60])
        // Repeated tasks (the hub's maintenance) are built on the same timers.
        let ticks = Mutex(0)
        let repeated = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { _ in ticks.withLock { $0 += 1 } }
        try await Task.sleep(for: .milliseconds(200))
        repeated.cancel()
        #expect(ticks.withLock { $0 } >= 3)
    }

    @Test func shuttingDownFailsTheTimersLeftAndEndsTheThread() async throws {
        let loop = try HubEventLoop(name: "test-loop")
        let pending = loop.scheduleTask(in: .seconds(3600)) { 1 }
        // Told before the stop (a callback given to a loop that has ended is never run).
        let failure = Mutex<(any Error)?>(nil)
        pending.futureResult.whenFailure { error in failure.withLock { $0 = error } }
        await loop.shutdown()
        #expect(failure.withLock { $0 as? EventLoopError } == .shutdown)
    }

    /// Datagrams sent 30 ms apart before the loop looks at the port are read in one wake-up, each
    /// with the time it came (between the test's clock readings around its send), not the time
    /// it was read, and the sending socket's address; one over the capacity is read cut to it.
    /// After that read emptied the port, the loop leaves it alone for the pause: a datagram sent
    /// at once is read no sooner. (Each check holds however late the test's own steps run.)
    @Test func datagramsCarryTheKernelsReceiveTimeAndTheirSender() async throws {
        let loop = try HubEventLoop(name: "test-loop")
        defer { Task { await loop.shutdown() } }
        let port = try UDPPort(host: "127.0.0.1", port: 0, capacity: 100, receiveBufferSize: 1 << 20)
        let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { Glibc.close(sender) }
        var loopback = sockaddr_in()
        loopback.sin_family = sa_family_t(AF_INET)
        loopback.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &loopback) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sender, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        let target = SourceAddress.parse("127.0.0.1:\(port.port)")!
        func send(_ bytes: [UInt8]) -> (before: Int64, after: Int64) {
            let before = WallClock.nanoseconds()
            let sent = target.withSocketAddress { name, length in bytes.withUnsafeBytes { sendto(sender, $0.baseAddress, $0.count, 0, name, length) } }
            #expect(sent == bytes.count)
            return (before, WallClock.nanoseconds())
        }
        // The kernel turns receive timestamps on lazily (a static key, switched by a work item):
        // until then a datagram is stamped when it is read. Probes until one is stamped on arrival.
        let enabled = ContinuousClock.now + .seconds(10)
        while true {
            let probe = send([0])
            try await Task.sleep(for: .milliseconds(20))
            var stamped: Int64?
            port.receive(limit: 256) { stamped = $0.receivedAt }
            if let stamped, stamped <= probe.after + 5_000_000 { break }
            #expect(ContinuousClock.now < enabled, "no receive timestamps")
            guard ContinuousClock.now < enabled else { return }
        }
        let first = send([1])
        try await Task.sleep(for: .milliseconds(30))
        let second = send([2, 2])
        _ = send([UInt8](repeating: 3, count: 101))
        let watchedAt = WallClock.nanoseconds()

        struct Read: Sendable { var bytes: [UInt8]; var sender: SourceAddress?; var receivedAt: Int64?; var readAt: Int64; var wakeUp: Int }
        let reads = Mutex<[Read]>([])
        let wakeUps = Mutex(0)
        let pause: TimeAmount = .milliseconds(300)
        try await loop.submit {
            loop.watch(port.descriptor, pause: pause) {
                let wakeUp = wakeUps.withLock { $0 += 1; return $0 }
                let count = port.receive(limit: 256) { datagram in
                    let read = Read(bytes: Array(datagram.bytes), sender: datagram.sender, receivedAt: datagram.receivedAt,
                                    readAt: WallClock.nanoseconds(), wakeUp: wakeUp)
                    reads.withLock { $0.append(read) }
                }
                return count < 256
            }
        }.get()
        try await waitFor { reads.withLock { $0.count } == 3 }
        let third = send([4])
        try await waitFor { reads.withLock { $0.count } == 4 }

        let got = reads.withLock { $0 }
        #expect(got.map { $0.bytes.count } == [1, 2, 100, 1])
        #expect(got.map(\.wakeUp) == [1, 1, 1, 2])  // what waited, in one read
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sender, $0, &length) } }
        #expect(got.allSatisfy { $0.sender == SourceAddress(local) })
        for (read, sent) in zip([got[0], got[1], got[3]], [first, second, third]) {
            let time = try #require(read.receivedAt)
            #expect(time >= sent.before && time <= sent.after + 5_000_000, "received at \(time), sent \(sent)")
        }
        #expect(got[0].readAt >= watchedAt)  // read after the port was watched, stamped before
        // The pause after the first read: the fourth datagram waited for it.
        #expect(got[3].readAt - got[2].readAt >= pause.nanoseconds)
    }

    @Test func anArrivalIsMovedBackToTheKernelsTimeOnlyWhenThatTimeIsPlausible() {
        let now = Arrival(wall: 10_000_000_000, monotonic: 500_000_000_000)
        let earlier = now.backdated(toWallClock: 9_995_000_000)
        #expect(earlier.wall == 9_995_000_000 && earlier.monotonic == 499_995_000_000)
        #expect(now.backdated(toWallClock: nil).monotonic == now.monotonic)
        // Came while a batch read after the clocks were read was under way: moved on.
        #expect(now.backdated(toWallClock: 10_003_000_000).monotonic == now.monotonic + 3_000_000)
        #expect(now.backdated(toWallClock: 12_000_000_000).monotonic == now.monotonic)  // a second or more ahead
        #expect(now.backdated(toWallClock: 8_000_000_000).monotonic == now.monotonic)  // a second or more old
        #expect(now.backdated(toWallClock: Int64.min).monotonic == now.monotonic)
    }

    private func waitFor(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
