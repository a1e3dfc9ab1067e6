import Auth
import Foundation
import Logging
import Server

/// An egress server of the test's own, in process: OS-chosen ports, its own output directory,
/// API key `devkey` with a long secret. Stopped (gracefully) when the test ends.
final class RunningServer: Sendable {
    static let key = "devkey"
    static let secret = "a-secret-long-enough-for-the-client-tests-0123456789"

    let port: Int
    let rtpPort: Int
    let directory: URL
    private let task: Task<Void, any Error>

    init(configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("client-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port").path
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.hub.rtpPort = 0
        configuration.portFile = portFile
        configuration.outputDirectory = directory.appendingPathComponent("recordings").path
        configuration.keys = APIKeys([Self.key: Self.secret])
        configuration.eventLoopThreads = 1
        configure(&configuration)
        var logger = Logger(label: "client-tests")
        logger.logLevel = .warning
        let server = EgressServer(configuration: configuration, logger: logger)
        task = Task { try await server.run() }
        for _ in 0..<1000 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8) {
                let ports = text.split(separator: "\n").compactMap { Int($0) }
                if ports.count == 2 {
                    (port, rtpPort) = (ports[0], ports[1])
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        throw CancellationError()
    }

    /// Stops the server as SIGTERM would, and waits for it.
    func stop() async {
        task.cancel()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: directory)
    }
}
