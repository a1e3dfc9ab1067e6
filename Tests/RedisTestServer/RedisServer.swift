import Foundation
import Redis
#if canImport(Glibc)
import Glibc
#endif

/// For tests: a real `redis-server` the test starts on 127.0.0.1 (a port the system hands out), with no
/// persistence, and stops afterwards, even when the test fails.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    let process = Process()
    public var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

    public init(arguments: [String] = [], port: Int? = nil) throws {
        self.port = try port ?? Self.freePort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", "\(self.port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--logfile", ""] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Ready once it answers (a password-protected one answers NOAUTH: ready too).
        for _ in 0..<200 {
            if let connection = try? RedisConnection(endpoint: endpoint, timeout: .seconds(1)) {
                switch Result(catching: { () throws(RedisError) in try connection.command(["PING"]) }) {
                case .success, .failure(.replied): return
                case .failure: break
                }
            }
            usleep(25_000)
        }
        kill()
        throw RedisServerError(description: "redis-server did not start on port \(self.port)")
    }

    /// Stops the server as a crash would (it keeps nothing: there is nothing to save).
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill() }

    public static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw RedisServerError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
