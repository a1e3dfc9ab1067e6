import Foundation
import Testing

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
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        var line = Data()
        while !line.contains(0x0A), let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty { line.append(byte) }
        let port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                                "the Python server printed no port")
        return try await body(port)
    }
}
