#if canImport(Glibc)
import Glibc
#endif

/// The few file-system calls recordings make.
enum Directories {
    /// Creates the directories above `path`.
    static func create(parentOf path: String) throws {
        var built = ""
        for component in path.split(separator: "/").dropLast() {
            built += "/" + component
            if mkdir(built, 0o755) != 0, errno != EEXIST {
                throw RecorderError("cannot create \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Bytes in the file at `path` (0 if it is not there).
    static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
