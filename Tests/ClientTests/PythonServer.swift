import Foundation
import Testing

/// Runs blocking work (a child process's pipe, its exit) on a thread of Dispatch's, not on one
/// of the few threads Swift's tasks share: blocking those would stall every other test's tasks.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// A Python program the test runs as a server: it prints the port it listens on, and stops
/// when its stdin closes.
struct PythonServer {
    /// Runs `script` with `arguments`, hands `body` its port, and stops it afterwards.
    static func run<T>(_ script: String, arguments: [String] = [], _ body: (Int) async throws -> T) async throws -> T {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        let result: Result<T, any Error>
        do {
            let reader = output.fileHandleForReading
            let line = try await offThePool {
                var line = Data()
                while !line.contains(0x0A), let byte = try reader.read(upToCount: 1), !byte.isEmpty { line.append(byte) }
                return line
            }
            let port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                                    "the Python server printed no port")
            result = .success(try await body(port))
        } catch {
            result = .failure(error)
        }
        try? input.fileHandleForWriting.close()
        _ = try? await offThePool { process.waitUntilExit() }
        return try result.get()
    }
}
