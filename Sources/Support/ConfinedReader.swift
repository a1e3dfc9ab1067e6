#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file inside the output directory opened for reading without following a symbolic
/// link anywhere below the directory (as `ConfinedFile` writes them): what is served back is
/// what was written there, never a file a link points to.
public final class ConfinedReader: @unchecked Sendable {
    // The descriptor is only read with pread, which needs no shared offset.
    private let descriptor: Int32
    /// Bytes, when it was opened.
    public let size: Int64

    public init(_ target: ConfinedPath) throws(ConfinedFile.Failure) {
        let (directory, name) = try ConfinedFile.walk(to: target, creating: false)
        defer { close(directory) }
        let descriptor = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfinedFile.failure("opening", target.path, entry: (directory, name)) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw ConfinedFile.Failure(description: "opening \(target.path): not a regular file")
        }
        self.descriptor = descriptor
        size = Int64(info.st_size)
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    public func read(offset: Int64, count: Int) throws(ConfinedFile.Failure) -> [UInt8] {
        guard offset >= 0, count >= 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + filled }, count - filled, off_t(offset) + off_t(filled))
            }
            if read < 0 {
                if errno == EINTR { continue }
                throw ConfinedFile.Failure(description: "reading: \(String(cString: strerror(errno)))")
            }
            if read == 0 { break }
            filled += read
        }
        bytes.removeLast(count - filled)
        return bytes
    }
}
