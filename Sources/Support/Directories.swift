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

    /// Creates the directories above the file at `path`.
    public static func create(parentOf path: String) throws(Failure) {
        try create(path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
    }

    /// Bytes in the file at `path` (0 if it is not there).
    public static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
