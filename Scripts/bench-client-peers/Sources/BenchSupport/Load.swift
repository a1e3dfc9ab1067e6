#if canImport(Glibc)
import Glibc
#endif

/// The load both clients run: `concurrency` workers, each making one call after another until
/// `seconds` have passed; the latency of every call is kept.
public enum Load {
    public struct Arguments: Sendable {
        public let port: Int
        public let concurrency: Int
        public let seconds: Double
    }

    /// `PORT CONCURRENCY SECONDS` from the command line.
    public static func arguments() -> Arguments {
        let args = CommandLine.arguments
        guard args.count == 4, let port = Int(args[1]), let concurrency = Int(args[2]), let seconds = Double(args[3]) else {
            print("usage: \(args.first ?? "bench") PORT CONCURRENCY SECONDS")
            exit(2)
        }
        return Arguments(port: port, concurrency: concurrency, seconds: seconds)
    }

    /// Runs `call` from `concurrency` tasks for `seconds` (after a one-second warm-up) and prints
    /// one JSON line: calls, calls per second, latency percentiles in microseconds, errors.
    public static func run(_ arguments: Arguments, name: String, _ call: @escaping @Sendable () async throws -> Void) async {
        _ = await measure(arguments.concurrency, seconds: 1, call)
        let started = ContinuousClock.now
        let (latencies, errors) = await measure(arguments.concurrency, seconds: arguments.seconds, call)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Int {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        print("{\"client\": \"\(name)\", \"calls\": \(sorted.count), \"per_second\": \(Int(Double(sorted.count) / seconds)), "
            + "\"p50_us\": \(percentile(0.5)), \"p90_us\": \(percentile(0.9)), \"p99_us\": \(percentile(0.99)), \"errors\": \(errors)}")
    }

    private static func measure(_ concurrency: Int, seconds: Double, _ call: @escaping @Sendable () async throws -> Void) async -> ([Int], Int) {
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        return await withTaskGroup(of: ([Int], Int).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var latencies: [Int] = []
                    var errors = 0
                    while ContinuousClock.now < end {
                        let start = ContinuousClock.now
                        do {
                            try await call()
                            let took = ContinuousClock.now - start
                            latencies.append(Int(took.components.seconds) * 1_000_000 + Int(took.components.attoseconds / 1_000_000_000_000))
                        } catch {
                            errors += 1
                        }
                    }
                    return (latencies, errors)
                }
            }
            var all: [Int] = []
            var errors = 0
            for await (latencies, failed) in group {
                all += latencies
                errors += failed
            }
            return (all, errors)
        }
    }
}
