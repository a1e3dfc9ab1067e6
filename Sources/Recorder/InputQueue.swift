import NIOConcurrencyHelpers

/// A bounded queue from the hub's thread (producer) to one recording's thread (consumer).
/// Frames are collected in batches at the consumer's pace and never wake it (no context switch
/// per frame); room events and control inputs wake it at once. Frames beyond the capacity are
/// dropped and counted; events and controls always get in, since losing one would leave the
/// recording in the wrong state.
final class InputQueue<Element: Sendable>: @unchecked Sendable {
    /// Its value is 1 while an urgent element waits.
    private let lock = ConditionLock(value: 0)
    private var items: [Element] = []
    private var hasUrgent = false
    private let capacity: Int
    private var droppedCount = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var dropped: Int {
        lock.lock()
        defer { lock.unlock() }
        return droppedCount
    }

    /// Adds a frame (`urgent` false: may be dropped, wakes nobody) or an event or control
    /// (`urgent` true: always kept, wakes the consumer).
    func push(_ element: Element, urgent: Bool) {
        lock.lock()
        guard urgent || items.count < capacity else {
            droppedCount += 1
            lock.unlock()
            return
        }
        items.append(element)
        if urgent && !hasUrgent {
            hasUrgent = true
            lock.unlock(withValue: 1)  // wakes the consumer
        } else {
            lock.unlock()  // no signal: a frame waits for the next batch
        }
    }

    /// Everything queued, after waiting up to `interval` seconds (less if something urgent comes).
    func take(within interval: Double) -> [Element] {
        if !lock.lock(whenValue: 1, timeoutSeconds: interval) { lock.lock() }
        let taken = items
        items.removeAll(keepingCapacity: true)
        hasUrgent = false
        lock.unlock(withValue: 0)
        return taken
    }
}
