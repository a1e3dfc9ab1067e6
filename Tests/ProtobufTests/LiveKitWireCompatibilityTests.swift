import Foundation
import Testing
@testable import Protobuf

/// Messages built by LiveKit's own generated classes (the livekit-protocol Python package)
/// decode here with every field intact, and what this side encodes decodes there.
@Suite struct LiveKitWireCompatibilityTests {
    @Test func wireRoundTripWithLiveKitClasses() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lk-fixtures-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try #require(LiveKitFixtures.run(["make", dir.path]).status == 0)

        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }
        #expect(files.count > 90)
        for file in files {
            let typeName = String(file.split(separator: ".", maxSplits: 1)[1].dropLast(4))
            let type = try #require(DescriptorRegistry.shared.message(named: typeName), "\(typeName) is not generated")
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))
            let message = try ProtoMessage(decoding: bytes, as: type)
            #expect(!message.presentFields.isEmpty, "\(file) decoded with no fields")
            let out = dir.appendingPathComponent(String(file.dropLast(4)) + ".out")
            try Data(message.encoded()).write(to: out)
        }
        let verify = try LiveKitFixtures.run(["verify", dir.path])
        #expect(verify.status == 0, "\(verify.output)")
    }
}

/// Runs Tests/Conformance/livekit_fixtures.py, which builds messages with LiveKit's own classes.
enum LiveKitFixtures {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Conformance/livekit_fixtures.py").path

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
