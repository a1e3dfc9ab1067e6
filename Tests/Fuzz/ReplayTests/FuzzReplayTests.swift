import FuzzHarnesses
import Testing

/// Every committed fuzz input — the seed corpora and the regressions — through its harness, in
/// the normal test build (no libFuzzer). Each harness replays in a child process (an exit test),
/// so that a crash fails this test, naming the input, instead of ending the whole run.
@Suite struct FuzzReplayTests {
    /// Tests/Fuzz.
    static let fuzzDirectory = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2)
        .joined(separator: "/"))

    static func inputs(of harness: FuzzHarness) -> (corpus: [String], regressions: [String]) {
        (FuzzHarness.files(under: "\(fuzzDirectory)/Corpus/\(harness.rawValue)"),
         FuzzHarness.files(under: "\(fuzzDirectory)/Regressions/\(harness.rawValue)"))
    }

    @Test(.enabled(if: FuzzHarness.isAvailable), arguments: FuzzHarness.allCases)
    func committedInputsReplayWithoutACrash(_ harness: FuzzHarness) async {
        let (corpus, regressions) = Self.inputs(of: harness)
        #expect(!corpus.isEmpty, "no seed corpus under Tests/Fuzz/Corpus/\(harness.rawValue)")
        let replayed = await #expect(processExitsWith: .success) {
            [name = harness.rawValue as String, files = (corpus + regressions) as [String]] in
            FuzzHarness(rawValue: name)!.replay(paths: files)
        }
        guard replayed == nil else { return }
        // It crashed: once more to see its stderr, where the replay names each input before running it.
        let crashed = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            [name = harness.rawValue as String, files = (corpus + regressions) as [String]] in
            FuzzHarness(rawValue: name)!.replay(paths: files)
        }
        let lines = crashed.map { String(decoding: $0.standardErrorContent, as: UTF8.self).split(separator: "\n") } ?? []
        Issue.record("\(harness.executableName) crashed on a committed input; its stderr ends with:\n\(lines.suffix(25).joined(separator: "\n"))")
    }
}

#if DEBUG
@testable import FuzzHarnesses

/// The HTTP/1.1 harness is worth something only while it drives the server's handlers to an answer.
@Test func http1HarnessGetsAnAnswerFromTheServersHandlers() {
    let request = Array("POST /twirp/a/b HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n{}".utf8)
    let response = String(decoding: HTTP1Harness.exchange([0, 0] + request), as: UTF8.self)
    #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
    #expect(response.hasSuffix("\r\n\r\nPOST /twirp/a/b 2\n"))
}
#endif

#if DEBUG
/// The HTTP/2 harness is worth something only while frames reach the gRPC and Twirp handlers.
@Test func http2HarnessGetsAnAnswerFromTheServersHandlers() throws {
    let directory = FuzzReplayTests.fuzzDirectory + "/Corpus/http2/"
    let grpc = HTTP2Harness.exchange(try #require(FuzzHarness.contents(of: directory + "grpc-check")))
    // A DATA frame with the length-prefixed HealthCheckResponse{status: SERVING}.
    #expect(grpc.indices.contains { grpc[$0...].starts(with: [0, 0, 0, 0, 2, 0x08, 0x01]) })
    let twirp = HTTP2Harness.exchange(try #require(FuzzHarness.contents(of: directory + "twirp-json")))
    #expect(String(decoding: twirp, as: UTF8.self).contains(#"{"status":"SERVING"}"#))
}
#endif
