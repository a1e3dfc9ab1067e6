#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an output file goes: a path relative to a directory that it must not leave.
public struct ConfinedPath: Sendable, Equatable {
    /// The output directory (absolute).
    public let root: String
    /// Checked already: no `..`, no empty or `.` component (see `OutputPath.checkFilled`).
    public let relative: String

    public init(root: String, relative: String) {
        self.root = root
        self.relative = relative
    }

    /// The file's path, for results and logs.
    public var path: String { root + "/" + relative }

    /// The path of a file named `name` in the same directory.
    public func sibling(named name: String) -> ConfinedPath {
        let directory = PathText.directory(of: relative)
        return ConfinedPath(root: root, relative: directory.isEmpty ? name : directory + "/" + name)
    }
}

/// A file created inside the output directory without following a symbolic link anywhere below
/// the directory: each directory on the way is opened with `O_NOFOLLOW` relative to the one
/// before (and made when missing), and so is the file. A link placed in the output directory
/// therefore cannot send a recording elsewhere. Holds its directory and itself open.
public final class ConfinedFile: @unchecked Sendable {
    /// Why a file could not be made, naming the path and the system's reason.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let target: ConfinedPath
    public var path: String { target.path }
    /// The file's name in its directory.
    public let name: String
    private let directory: Int32
    private let descriptor: Int32

    private init(target: ConfinedPath, name: String, directory: Int32, descriptor: Int32) {
        self.target = target
        self.name = name
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
        close(directory)
    }

    /// A path that reopens exactly this file, whatever is at its name now (Linux's
    /// `/proc/self/fd`): what libraries that open files by name (FFmpeg) are given.
    public var openablePath: String { "/proc/self/fd/\(descriptor)" }

    /// Creates (or truncates) the file at `target`, making the directories on the way.
    public static func create(_ target: ConfinedPath) throws(Failure) -> ConfinedFile {
        let (directory, name) = try walk(to: target, creating: true)
        do {
            return ConfinedFile(target: target, name: name, directory: directory,
                                descriptor: try openFile(name, in: directory, path: target.path))
        } catch {
            close(directory)
            throw error
        }
    }

    /// Opens the file at `target`, which must exist, for reading and writing, walking to it as
    /// `create` does (no link is followed).
    public static func openExisting(_ target: ConfinedPath) throws(Failure) -> ConfinedFile {
        let (directory, name) = try walk(to: target, creating: false)
        let descriptor = openat(directory, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = failure("opening", target.path, entry: (directory, name))
            close(directory)
            throw error
        }
        return ConfinedFile(target: target, name: name, directory: directory, descriptor: descriptor)
    }

    /// Opens the directory `target` is in (made when missing, with `creating`) by walking from
    /// the root with `O_NOFOLLOW` at each step; the directory's descriptor and the file's name.
    static func walk(to target: ConfinedPath, creating: Bool) throws(Failure) -> (directory: Int32, name: String) {
        // Split at "/" bytes, as the kernel will; ".." and "." are refused byte for byte.
        let components = PathText.components(of: target.relative)
        guard let name = components.last, !components.contains(where: { PathText.isDotDot($0) || PathText.isDot($0) }) else {
            throw Failure(description: "cannot open \(target.path): not a file name inside the output directory")
        }
        var directory = open(target.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw failure("opening", target.root) }
        var walked = target.root
        for component in components.dropLast() {
            walked += "/" + component
            if creating, mkdirat(directory, component, 0o755) != 0, errno != EEXIST {
                let error = failure("creating", walked)
                close(directory)
                throw error
            }
            let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = next < 0 ? failure("opening the directory", walked, entry: (directory, component)) : nil
            close(directory)
            if let error { throw error }
            directory = next
        }
        return (directory, name)
    }

    /// Writes `bytes` as the file at `target`, whole: under a temporary name beside it
    /// (`<name>.part`), then renamed over it, so a reader never finds it half-written.
    @discardableResult
    public static func replace(_ target: ConfinedPath, with bytes: [UInt8]) throws(Failure) -> ConfinedFile {
        let name = PathText.lastComponent(of: target.relative)
        let part = try create(target.sibling(named: name + ".part"))
        try part.append(bytes)
        try part.rename(to: name)
        return part
    }

    /// Creates (or truncates) a file named `name` beside this one.
    public func sibling(named name: String) throws(Failure) -> ConfinedFile {
        let sibling = target.sibling(named: name)
        let directory = dup(self.directory)
        guard directory >= 0 else { throw Self.failure("opening the directory of", sibling.path) }
        do {
            return ConfinedFile(target: sibling, name: name, directory: directory,
                                descriptor: try Self.openFile(name, in: directory, path: sibling.path))
        } catch {
            close(directory)
            throw error
        }
    }

    /// Gives this file the name of `other` in the same directory, replacing it.
    public func rename(over other: ConfinedFile) throws(Failure) {
        guard renameat(directory, name, other.directory, other.name) == 0 else {
            throw Self.failure("replacing \(other.path) with", path)
        }
    }

    /// Gives this file the name `name` in its directory, replacing what is there. (This value
    /// keeps its old name: it is for the last step of writing a file.)
    public func rename(to name: String) throws(Failure) {
        guard renameat(directory, self.name, directory, name) == 0 else {
            throw Self.failure("renaming \(path) to", name)
        }
    }

    /// Removes the file's name from its directory (the file is gone once nothing holds it open).
    public func remove() {
        unlinkat(directory, name, 0)
    }

    /// Removes the file named `name` (one name, not a path) from this file's directory.
    public func removeSibling(named name: String) {
        guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "/")), !PathText.isDot(name), !PathText.isDotDot(name) else { return }
        unlinkat(directory, name, 0)
    }

    /// Writes `bytes` at the end of the file, all of them.
    public func append(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure("writing", path)
            }
            offset += written
        }
    }

    /// Bytes at the file's name now (0 if nothing is there), not following a link.
    public var size: Int64 {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? Int64(info.st_size) : 0
    }

    private static func openFile(_ name: String, in directory: Int32, path: String) throws(Failure) -> Int32 {
        let descriptor = openat(directory, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("creating", path, entry: (directory, name)) }
        return descriptor
    }

    /// The failure of `action` on `path` (the entry `name` of `directory`, when given: a
    /// symbolic link there is named as the reason).
    static func failure(_ action: String, _ path: String, entry: (directory: Int32, name: String)? = nil) -> Failure {
        let code = errno
        var info = stat()
        if let entry, fstatat(entry.directory, entry.name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK {
            return Failure(description: "\(action) \(path): it is a symbolic link, and output paths do not follow links")
        }
        return Failure(description: "\(action) \(path): \(String(cString: strerror(code)))")
    }
}
