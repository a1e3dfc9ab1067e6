import FuzzHarnesses

// Built with -DFUZZING (Scripts/fuzz): libFuzzer's entry point, called for every input.
// Otherwise: replays the files (or directories) given as arguments.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzHarness.http2.run(UnsafeBufferPointer(start: start, count: count))
    return 0
}
#else
@main enum Replay {
    static func main() {
        FuzzHarness.http2.replay(paths: Array(CommandLine.arguments.dropFirst()))
    }
}
#endif
