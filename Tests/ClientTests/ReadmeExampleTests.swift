import Auth
import Foundation
import Testing

/// The README's Swift client example is a program of the package (Tests/ReadmeExample, built
/// with everything else): the README shows its text unchanged, and it does what its comments say
/// against a running server.
@Suite(.timeLimit(.minutes(1))) struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeShowsTheExampleAsItIs() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: Self.root.appendingPathComponent("Tests/ReadmeExample/main.swift"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```\n").first)
        #expect(block == example)
    }

    @Test func theExampleRunsAgainstAServer() async throws {
        // Built beside this test's own executable.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ReadmeExample")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first (swift build --build-tests)")
        let server = try await RunningServer { $0.keys = APIKeys(["devkey": "secret"]) }
        let process = Process()
        process.executableURL = binary
        process.arguments = [String(server.port)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let reader = output.fileHandleForReading
        let text = try await offThePool {
            let bytes = try reader.readToEnd() ?? Data()
            process.waitUntilExit()
            return String(decoding: bytes, as: UTF8.self)
        }
        await server.stop()
        #expect(process.terminationStatus == 0, "\(text)")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(text)")
        #expect(lines.first?.hasPrefix("EG_") == true && lines.first?.hasSuffix(" egressStarting") == true, "\(text)")
        #expect(lines.dropFirst().first == "NOT_FOUND egress EG_unknown not found")
        #expect(lines.last == "serving")
    }
}
