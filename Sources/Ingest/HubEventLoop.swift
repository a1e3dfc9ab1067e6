import CSocket
import Dispatch
import Glibc
import NIOCore
import Synchronization

/// The room hub's event loop: one thread that waits, in one `poll(2)`, on the hub's UDP port and
/// on work handed to it by other threads, and runs the hub's timers.
///
/// NIO's datagram channel wakes its loop for each datagram, reads it alone, converts its address
/// to text and passes it down a pipeline; the hub's port carries a thousand small datagrams a
/// second per publisher, so here a wake-up reads every datagram waiting with one `recvmmsg`
/// (see `UDPPort`), each with the kernel's receive time. Everything else the hub does (RPC
/// calls hopping onto it, futures, repeated tasks) goes through the `EventLoop` protocol as on
/// any NIO loop.
public final class HubEventLoop: EventLoop, @unchecked Sendable {
    public let name: String
    /// An eventfd that other threads write to wake the loop.
    private let wakeDescriptor: Int32
    private let threadID = Atomic<UInt>(0)
    private var thread: pthread_t?

    private struct Shared {
        var tasks: [@Sendable () -> Void] = []
        /// The loop is in (or about to enter) `poll`: a new task must wake it.
        var sleeping = false
        /// The eventfd was written since the loop last woke.
        var signalled = false
        var stopping = false
    }
    private let shared = Mutex(Shared())

    // Loop-confined.
    private struct Timer {
        let deadline: NIODeadline
        let fire: @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }
    private var timers: [UInt64: Timer] = [:]
    private let timerIDs = Atomic<UInt64>(0)
    private var watched: Watched?
    private struct Watched {
        let descriptor: Int32
        let pause: TimeAmount
        let onReadable: () -> Bool
        var resumeAt: NIODeadline = .uptimeNanoseconds(0)
    }

    /// Starts the loop's thread (named `name`, as `top` and `perf` show it).
    public init(name: String = "egress-hub") throws {
        self.name = name
        let descriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard descriptor >= 0 else { throw SocketError("eventfd (the hub's event loop)") }
        wakeDescriptor = descriptor
        let box = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let result = pthread_create(&created, nil, { argument in
            let loop = Unmanaged<HubEventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<HubEventLoop>.fromOpaque(box).release()
            Glibc.close(descriptor)
            throw SocketError("pthread_create (the hub's event loop)", code: result)
        }
        thread = created
    }

    deinit { Glibc.close(wakeDescriptor) }

    // MARK: Reading a descriptor

    /// Calls `onReadable` on the loop whenever `descriptor` is readable. It reads what waits and
    /// says whether the loop may rest; if so, the descriptor is not looked at for `pause`, so that
    /// what arrives meanwhile is read in one go (if not, it is read again once tasks and timers
    /// have had their turn). One descriptor at a time; call on the loop.
    func watch(_ descriptor: Int32, pause: TimeAmount = .zero, onReadable: @escaping () -> Bool) {
        preconditionInEventLoop()
        watched = Watched(descriptor: descriptor, pause: pause, onReadable: onReadable)
    }

    /// Stops watching; call on the loop.
    func unwatch() {
        preconditionInEventLoop()
        watched = nil
    }

    // MARK: EventLoop

    public var inEventLoop: Bool { threadID.load(ordering: .relaxed) == UInt(pthread_self()) }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wake = shared.withLock { shared -> Bool in
            shared.tasks.append(task)
            guard shared.sleeping, !shared.signalled else { return false }
            shared.signalled = true
            return true
        }
        if wake { signal() }
    }

    @discardableResult
    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        let id = timerIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let timer = Timer(deadline: deadline, fire: {
            // Run on the loop, where the promise may take a value that is not Sendable.
            do { promise.assumeIsolatedUnsafeUnchecked().succeed(try task()) } catch { promise.fail(error) }
        }, fail: { promise.fail($0) })
        onLoop { $0.timers[id] = timer }
        return Scheduled(promise: promise) { [weak self] in
            self?.onLoop { loop in loop.timers.removeValue(forKey: id)?.fail(EventLoopError.cancelled) }
        }
    }

    @discardableResult
    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    public func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on the hub's event loop", file: file, line: line)
    }

    public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on the hub's event loop", file: file, line: line)
    }

    /// Stops the loop (tasks given before are run, timers fail with `EventLoopError.shutdown`)
    /// and calls `callback` on `queue` once its thread has ended. Tasks given after that are
    /// not run.
    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        guard let thread, !inEventLoop else {
            queue.async { callback(EventLoopError.unsupportedOperation) }
            return
        }
        let first = shared.withLock { shared -> Bool in
            defer { shared.stopping = true }
            return !shared.stopping
        }
        guard first else {
            queue.async { callback(EventLoopError.shutdown) }
            return
        }
        signal()
        DispatchQueue.global().async {
            pthread_join(thread, nil)
            queue.async { callback(nil) }
        }
    }

    /// Stops the loop and waits for its thread to end.
    public func shutdown() async {
        await withCheckedContinuation { continuation in
            shutdownGracefully(queue: .global()) { _ in continuation.resume() }
        }
    }

    // MARK: The thread

    private func onLoop(_ body: @escaping @Sendable (HubEventLoop) -> Void) {
        if inEventLoop { body(self) } else { execute { body(self) } }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        _ = egress_pthread_setname(pthread_self(), String(name.utf8.prefix(15)) ?? "egress-hub")  // 15 bytes at most
        var work: [@Sendable () -> Void] = []
        var descriptors = [pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: -1, events: Int16(POLLIN), revents: 0)]
        while true {
            let stopping = shared.withLock { shared -> Bool in
                swap(&work, &shared.tasks)
                return shared.stopping
            }
            for task in work { task() }
            work.removeAll(keepingCapacity: true)
            let now = NIODeadline.now()
            var wakeAt = runTimers(dueBy: now)
            if stopping {
                // What the last tasks gave the loop still runs, then it ends.
                if shared.withLock({ $0.tasks.isEmpty }) { break }
                continue
            }
            descriptors[1].fd = -1
            if let watched {
                if watched.resumeAt <= now {
                    descriptors[1].fd = watched.descriptor
                } else {
                    wakeAt = min(wakeAt ?? watched.resumeAt, watched.resumeAt)
                }
            }
            let sleep = shared.withLock { shared -> Bool in
                guard shared.tasks.isEmpty, !shared.stopping else { return false }
                shared.sleeping = true
                return true
            }
            guard sleep else { continue }
            // poll counts in milliseconds: a timer is run at its deadline or up to 1 ms after.
            let timeout = wakeAt.map { Int32(clamping: max(0, ($0 - now).nanoseconds + 999_999) / 1_000_000) } ?? -1
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            let ready = poll(&descriptors, 2, timeout)
            shared.withLock { shared in
                shared.sleeping = false
                shared.signalled = false
            }
            guard ready > 0 else { continue }
            if descriptors[0].revents != 0 {
                var value: UInt64 = 0
                _ = read(wakeDescriptor, &value, 8)
            }
            if descriptors[1].revents != 0, var current = watched, current.descriptor == descriptors[1].fd {
                let mayRest = current.onReadable()
                if mayRest, current.pause > .zero, watched?.descriptor == current.descriptor {
                    current.resumeAt = NIODeadline.now() + current.pause
                    watched = current
                }
            }
        }
        for timer in timers.values { timer.fail(EventLoopError.shutdown) }
        timers = [:]
        watched = nil
        threadID.store(0, ordering: .relaxed)  // the thread's id may be given to another one
    }

    /// Runs the timers due by `now`, earliest first (the hub has a handful); returns the
    /// deadline of the next one.
    private func runTimers(dueBy now: NIODeadline) -> NIODeadline? {
        while true {
            var earliest: (id: UInt64, deadline: NIODeadline)?
            for (id, timer) in timers where earliest.map({ timer.deadline < $0.deadline }) ?? true {
                earliest = (id, timer.deadline)
            }
            guard let due = earliest, due.deadline <= now else { return earliest?.deadline }
            timers.removeValue(forKey: due.id)?.fire()
        }
    }
}
