#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls the server makes outside FFmpeg.
public enum Directories {
    /// A directory that could not be made, with the system's reason.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates `path` and the directories above it (`mkdir -p`).
    public static func create(_ path: String) throws(Failure) {
        var built = ""
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0, errno != EEXIST {
                throw Failure(description: "cannot create \(built): \(String(cString: strerror(errno)))")
            }
        }
    }
}
