import Foundation

/// Runs a Python client script (`python3 -c`) with `arguments` and parses the one JSON object it
/// prints: how these tests drive the server with real client libraries and raw frames.
func runPythonClient(_ script: String, arguments: [String] = []) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.propertyListReadCorrupt)
    }
    return object
}
