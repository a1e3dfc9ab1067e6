import Foundation
import Synchronization
import Testing
@testable import Recorder

/// The queue between the hub's thread and a recording's: frames beyond its capacity are dropped
/// and counted, events always get in, and what is taken comes out in order.
@Suite struct InputQueueTests {
    @Test func framesBeyondTheCapacityAreDroppedAndCountedEventsAlwaysGetIn() {
        let queue = InputQueue<String>(capacity: 3)
        for frame in ["f1", "f2", "f3", "f4", "f5"] { queue.push(frame, urgent: false) }
        queue.push("event", urgent: true)  // over capacity, kept
        #expect(queue.dropped == 2)
        #expect(queue.take(within: 0) == ["f1", "f2", "f3", "event"])
        // Taking makes room again.
        queue.push("f6", urgent: false)
        #expect(queue.take(within: 0) == ["f6"])
        #expect(queue.dropped == 2)
    }

    @Test func anEventWakesTheConsumerAndAFrameDoesNot() async {
        let queue = InputQueue<String>(capacity: 10)
        queue.push("frame", urgent: false)
        let clock = ContinuousClock()
        let waited = clock.measure { _ = queue.take(within: 0.3) }  // a frame alone: the whole interval
        #expect(waited >= .milliseconds(250))
        queue.push("event", urgent: true)
        let woken = clock.measure { #expect(queue.take(within: 5) == ["event"]) }
        #expect(woken < .seconds(1))
    }

    /// Before media a recording sleeps until its participant's deadline; the first frames must
    /// wake it (they start the recording's clock), yet still count against the capacity.
    @Test func aFrameMarkedToWakeWakesTheConsumerAndIsStillBounded() {
        let queue = InputQueue<String>(capacity: 1)
        let consumer = DispatchSemaphore(value: 0)
        let taken = Mutex<[String]>([])
        let thread = Thread {
            let items = queue.take(within: 10)
            taken.withLock { $0 = items }
            consumer.signal()
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.1)
        queue.push("first frame", urgent: false, wakes: true)
        // Without the wake the consumer would sleep its whole 10 s.
        #expect(consumer.wait(timeout: .now() + 5) == .success)
        #expect(taken.withLock { $0 } == ["first frame"])
        queue.push("f1", urgent: false, wakes: true)
        #expect(!queue.push("f2", urgent: false, wakes: true))
        #expect(queue.dropped == 1)
    }
}
