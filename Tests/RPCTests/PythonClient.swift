import Foundation

/// Runs a Python client script (`python3 -c`) with `arguments` and parses the one JSON object it
/// prints: how these tests drive the server with real client libraries and raw frames. The wait
/// happens on a thread of its own, not on the few threads that run every test's tasks, so a long
/// client does not hold up the timing of tests running beside it.
func runPythonClient(_ script: String, arguments: [String] = []) async throws -> [String: Any] {
    let data: Data = try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: data)
        }
    }
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.propertyListReadCorrupt)
    }
    return object
}
