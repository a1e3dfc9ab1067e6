import Foundation

/// A bounded queue from one thread (producer) to another (consumer): the hub's to a recording's, a
/// recording's to one of its live streams'.
/// Frames are collected in batches at the consumer's pace and never wake it (no context switch
/// per frame); room events and control inputs wake it at once. Frames beyond the capacity are
/// dropped and counted; events and controls always get in, since losing one would leave the
/// recording in the wrong state.
final class InputQueue<Element: Sendable>: @unchecked Sendable {
    /// Guards everything below; signalled when an urgent element arrives.
    private let condition = NSCondition()
    private var items: [Element] = []
    private var hasUrgent = false
    private let capacity: Int
    private var droppedCount = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// Adds a frame (`urgent` false: may be dropped, wakes nobody unless `wakes`) or an event or
    /// control (`urgent` true: always kept, wakes the consumer). Returns whether it was kept.
    @discardableResult
    func push(_ element: Element, urgent: Bool, wakes: Bool = false) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard urgent || items.count < capacity else {
            droppedCount += 1
            return false
        }
        items.append(element)
        if urgent || wakes, !hasUrgent {
            hasUrgent = true
            condition.signal()  // wakes the consumer; a frame waits for the next batch
        }
        return true
    }

    /// Everything queued, after waiting up to `interval` seconds (less if something urgent comes).
    func take(within interval: Double) -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: interval)
        while !hasUrgent, condition.wait(until: deadline) {}
        let taken = items
        items.removeAll(keepingCapacity: true)
        hasUrgent = false
        return taken
    }
}
