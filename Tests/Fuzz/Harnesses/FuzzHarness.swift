#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parsers of network input, each as a function of one input's bytes: what the libFuzzer
/// executable (`fuzz`, built with `-DFUZZING` by Scripts/fuzz, FUZZ_HARNESS=<name>) calls for every input,
/// and what `FuzzReplayTests` calls for every committed corpus and regression file.
///
/// A harness returns normally on any input; a crash (a trap, a failed `precondition` of a
/// round trip, or a sanitizer report) is a bug.
public enum FuzzHarness: String, CaseIterable, Sendable {
    case jwt, json, protobuf
    case grpcFraming = "grpc-framing"
    case http1, http2, rtp, depacketizers, sdp, stun

    /// How messages name it. Its inputs are under Tests/Fuzz/Corpus/`rawValue` (seeds) and
    /// Tests/Fuzz/Regressions/`rawValue` (crashes found and fixed).
    public var executableName: String { "fuzz \(rawValue)" }

    /// Whether the harnesses were compiled: they reach internal APIs with `@testable import`,
    /// which needs a build with testing enabled (debug, or Scripts/fuzz's).
    public static var isAvailable: Bool {
        #if DEBUG || FUZZING
        true
        #else
        false
        #endif
    }

    /// Runs one input: libFuzzer's buffer (copied: the harnesses read arrays, as the server does).
    public func run(_ input: UnsafeBufferPointer<UInt8>) {
        run(Array(input))
    }

    public func run(_ input: [UInt8]) {
        #if DEBUG || FUZZING
        switch self {
        case .jwt: JWTHarness.run(input)
        case .json: JSONHarness.run(input)
        case .protobuf: ProtobufHarness.run(input)
        case .grpcFraming: GRPCFramingHarness.run(input)
        case .http1: HTTP1Harness.run(input)
        case .http2: HTTP2Harness.run(input)
        case .rtp: RTPHarness.run(input)
        case .depacketizers: DepacketizerHarness.run(input)
        case .sdp: SDPHarness.run(input)
        case .stun: STUNHarness.run(input)
        }
        #else
        fatalError("the fuzz harnesses need a build with testing enabled: a debug build, or Scripts/fuzz")
        #endif
    }

    /// Runs every file named (a directory: every file under it) through the harness; the
    /// executables' `main` when they are built without libFuzzer. Exits 2 on a path that cannot
    /// be read; a crash is the harness's.
    public func replay(paths: [String]) {
        var count = 0
        for path in paths {
            guard access(path, R_OK) == 0 else {
                Self.printError("\(executableName): cannot read \(path)")
                exit(2)
            }
            for file in Self.files(under: path) {
                guard let bytes = Self.contents(of: file) else {
                    Self.printError("\(executableName): cannot read \(file)")
                    exit(2)
                }
                Self.printError("\(executableName): \(file)")
                run(bytes)
                count += 1
            }
        }
        print("\(executableName): replayed \(count) input\(count == 1 ? "" : "s")")
    }

    private static func printError(_ line: String) {
        var line = line + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// The files at or under `path` (names starting with "." left out), sorted; none when
    /// nothing is there.
    public static func files(under path: String) -> [String] {
        guard access(path, F_OK) == 0 else { return [] }
        guard let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted().flatMap { files(under: path + "/" + $0) }
    }

    public static func contents(of path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[..<count]
            if count < chunk.count { return ferror(file) == 0 ? bytes : nil }
        }
    }
}
