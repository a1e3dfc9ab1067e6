import Foundation
import Testing

/// Generated/ is exactly what Scripts/generate-protos makes from Protos/ today.
@Suite struct GeneratedCodeDriftTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func generatedMatchesWhatTheScriptProducesFromProtos() throws {
        let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("generated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: fresh) }
        // The generator `swift build --build-tests` made beside this test's own executable, in
        // the configuration being tested (a `swift run` inside `swift test` would wait on the
        // build it is part of).
        let generator = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("generate-messages")
        try #require(FileManager.default.isExecutableFile(atPath: generator.path), "build generate-messages first (swift build --build-tests)")
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("Scripts/generate-protos")
        process.arguments = [fresh.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["GENERATE_MESSAGES": generator.path]) { $1 }
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "Scripts/generate-protos failed")

        let committed = Self.root.appendingPathComponent("Generated")
        // Every file, in subdirectories too (Swift/).
        let names = { (dir: URL) in
            try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { path in
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: dir.appendingPathComponent(path).path, isDirectory: &isDirectory)
                return exists && !isDirectory.boolValue
            }.sorted()
        }
        #expect(try names(fresh) == names(committed), "Generated/ has other files than Protos/ produce")
        for name in try names(fresh) {
            let want = try Data(contentsOf: fresh.appendingPathComponent(name))
            let have = try Data(contentsOf: committed.appendingPathComponent(name))
            #expect(want == have, "Generated/\(name) has drifted from Protos/: run Scripts/generate-protos")
        }
    }
}
