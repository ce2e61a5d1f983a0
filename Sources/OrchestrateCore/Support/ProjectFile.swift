import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading a file of the project (a migration, an environment file, `.env`) with the real reason when it cannot be
/// read, and one rule for links: a symbolic link leading outside the project root is refused.
///
/// Such a link works on one machine only (git stores the link, not what it points to), so `check`, which reads git,
/// and `upgrade`, which reads the disk, would see different files.
enum ProjectFile {
    /// The bytes of `path` (absolute), shown as `display` in errors; `root` is the project root.
    ///
    /// Throws a usage error naming the file and the way out when it is a link leading outside `root` (or to nothing;
    /// unless `linksMayLeave`, as for `.env`, often a link to a secrets file kept elsewhere), a directory, not a
    /// regular file (FIFO, socket, device), or unreadable (with the system's reason).
    static func read(
        _ path: String, display: String, root: String,
        linksMayLeave: Bool = false
    ) throws(OrchestrateError) -> [UInt8] {
        if !linksMayLeave {
            try refuseOutsideLink(path, display: display, root: root)
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw unreadable(display, errno: errno)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw unreadable(display, errno: errno)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFDIR:
            throw .usage(
                "\(display): is a directory, not a file",
                hint: "move or rename the directory: only files belong there")
        default:
            throw .usage(
                "\(display): is not a regular file (it is a FIFO, a socket or a device)",
                hint: "replace it with a regular file, or remove it")
        }
        // Read straight into the array's storage, sized by fstat (one byte more to notice a file that grew): no
        // zero-filled buffer per file, which cost more than parsing the file on every run over 1,000 migrations.
        var failure: Int32 = 0
        let size = max(0, Int(status.st_size))
        var bytes = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialized in
            var filled = 0
            while filled < buffer.count {
                let count = systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                filled += count
            }
            initialized = filled
        }
        if failure != 0 { throw unreadable(display, errno: failure) }
        // The file grew while we read it: read the rest in chunks.
        if bytes.count == size + 1 {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw unreadable(display, errno: errno)
                }
                bytes.append(contentsOf: chunk[0..<count])
            }
        }
        return bytes
    }

    /// The text of `path` as UTF-8 (see `read`); invalid UTF-8 or a NUL byte is an error naming its line and byte.
    ///
    /// A NUL is refused, not read: the TOML parser and libpq take C strings, so they would silently drop whatever
    /// follows it (a `protected = true` after a NUL would vanish).
    static func readText(
        _ path: String, display: String, root: String,
        linksMayLeave: Bool = false
    ) throws(OrchestrateError) -> String {
        let bytes = try read(path, display: display, root: root, linksMayLeave: linksMayLeave)
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\0" {
                    throw .usage(
                        "\(display):\(line): the file holds a NUL byte (byte \(offset + 1) of the file)",
                        hint: "remove it (a file saved as UTF-16 is full of them: save it as UTF-8)")
                }
                if scalar == "\n" { line += 1 }
                offset += UTF8.width(scalar)
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                throw .usage(
                    "\(display):\(line): not valid UTF-8 (byte \(offset + 1) of the file)",
                    hint: "save the file with UTF-8 encoding")
            }
        }
    }

    /// Throws when `path` is a symbolic link whose target is missing or outside `root`.
    static func refuseOutsideLink(_ path: String, display: String, root: String) throws(OrchestrateError) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
        guard let resolved = realPath(path) else {
            throw .usage(
                "\(display): is a symbolic link to \(target), which does not exist",
                hint: "replace the link with the file itself, or remove it")
        }
        let resolvedRoot = realPath(root) ?? root
        guard resolved.hasPrefix(resolvedRoot.hasSuffix("/") ? resolvedRoot : resolvedRoot + "/") else {
            throw .usage(
                "\(display): is a symbolic link leading outside the project (to \(resolved)); it is refused "
                    + "because git stores the link, not the file, so other machines and `orchestrate check` do not see it",
                hint: "replace the link with the file itself: cp --remove-destination '\(resolved)' '\(display)'")
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func unreadable(_ display: String, errno code: Int32) -> OrchestrateError {
        let reason = String(cString: strerror(code))
        let hint =
            code == EACCES || code == EPERM
            ? "give your user read access to it (chmod u+r), or run as its owner" : nil
        return .usage("\(display): cannot be read: \(reason)", hint: hint)
    }
}

/// read(2), named apart from `ProjectFile.read`.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
    #else
        Darwin.read(descriptor, buffer, count)
    #endif
}
