import NIOConcurrencyHelpers

/// A bounded queue from the hub's thread (producer) to one recording's thread (consumer).
/// Frames beyond the capacity are dropped and counted; room events and control inputs always
/// get in, since losing one would leave the recording in the wrong state.
final class InputQueue<Element>: @unchecked Sendable {
    private let lock = ConditionLock(value: 0)
    private var items: [Element] = []
    private let capacity: Int
    private(set) var dropped = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds an element; `droppable` ones are refused (and counted) when the queue is full.
    func push(_ element: Element, droppable: Bool) {
        lock.lock()
        if droppable, items.count >= capacity {
            dropped += 1
            lock.unlock(withValue: items.isEmpty ? 0 : 1)
            return
        }
        items.append(element)
        lock.unlock(withValue: 1)
    }

    /// Everything queued, waiting up to `timeout` seconds for something to arrive.
    func take(timeout: Double) -> [Element] {
        guard lock.lock(whenValue: 1, timeoutSeconds: timeout) else { return [] }
        let taken = items
        items.removeAll(keepingCapacity: true)
        lock.unlock(withValue: 0)
        return taken
    }
}
