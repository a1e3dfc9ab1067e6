#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FuzzHarnesses

// One executable for every harness, so Scripts/fuzz builds the sanitized code once.
//
// Built with -DFUZZING (Scripts/fuzz): libFuzzer's entry point, called for every input, running
// the harness named by the environment variable FUZZ_HARNESS (`Scripts/fuzz list`).
// Otherwise: `fuzz HARNESS PATH...` replays the files (or directories) through that harness.
func printError(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

#if FUZZING
/// The harness, read once (a global is initialised lazily and exactly once).
let selectedHarness: FuzzHarness = {
    guard let name = getenv("FUZZ_HARNESS").map({ String(cString: $0) }),
          let harness = FuzzHarness(rawValue: name)
    else {
        let known = FuzzHarness.allCases.map(\.rawValue).joined(separator: ", ")
        printError("fuzz: set FUZZ_HARNESS to one of: \(known)")
        exit(2)
    }
    return harness
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    selectedHarness.run(UnsafeBufferPointer(start: start, count: count))
    return 0
}
#else
@main enum Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let harness = FuzzHarness(rawValue: name) else {
            let known = FuzzHarness.allCases.map(\.rawValue).joined(separator: "|")
            printError("usage: fuzz <\(known)> PATH...")
            exit(2)
        }
        harness.replay(paths: Array(arguments.dropFirst()))
    }
}
#endif
