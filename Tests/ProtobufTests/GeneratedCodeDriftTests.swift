import Foundation
import Testing

/// Generated/ is exactly what Scripts/generate-protos makes from Protos/ today.
@Suite struct GeneratedCodeDriftTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func generatedMatchesWhatTheScriptProducesFromProtos() throws {
        let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("generated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: fresh) }
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("Scripts/generate-protos")
        process.arguments = [fresh.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "Scripts/generate-protos failed")

        let committed = Self.root.appendingPathComponent("Generated")
        let names = { (dir: URL) in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }
        #expect(try names(fresh) == names(committed), "Generated/ has other files than Protos/ produce")
        for name in try names(fresh) {
            let want = try Data(contentsOf: fresh.appendingPathComponent(name))
            let have = try Data(contentsOf: committed.appendingPathComponent(name))
            #expect(want == have, "Generated/\(name) has drifted from Protos/: run Scripts/generate-protos")
        }
    }
}
