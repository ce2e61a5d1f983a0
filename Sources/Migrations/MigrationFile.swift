/// One parsed migration file, `migrations/<revision>.sql`.
///
/// The format (DESIGN §2):
///
/// ```sql
/// -- parent: 20261120120000_create_users
/// -- migrate:up
/// ALTER TABLE users ADD COLUMN last_login timestamptz;
/// -- migrate:down
/// ALTER TABLE users DROP COLUMN last_login;
/// ```
///
/// The header (the lines before `-- migrate:up`) holds blank lines and `--` comments. A comment of the form
/// `-- key: value` with a lowercase key is a header key (the table `HeaderKey.all`): `parent` (comma-separated ids;
/// the root has none, a merge has several) and `transaction` (`true` or `false`). Any other lowercase key is an error,
/// so a typo never goes unnoticed; other comments (`-- TODO: x`, `-- Adds a column`) are ignored. The
/// `-- migrate:up` line is required; `-- migrate:down` is optional, and a file without it is irreversible.
public struct MigrationFile: Sendable, Hashable {
    /// The revision id: the file name without `.sql`.
    public var revision: String
    /// The display path, as given by the caller; used in error messages.
    public var path: String
    /// The parent revisions in the order written; `[]` for the root.
    public var parents: [String]
    /// Whether the revision runs inside a transaction; `false` when the header says `-- transaction: false`.
    public var transactional: Bool
    /// The up SQL, exactly as written between the markers (not trimmed).
    public var up: String
    /// The down SQL, exactly as written after `-- migrate:down`; `nil` when the file has no down section.
    public var down: String?
    /// The 1-based file line of the first line of `up` (the line after `-- migrate:up`).
    ///
    /// A position inside `up` maps to a file line as `upStartLine + lineInUp - 1`.
    public var upStartLine: Int
    /// The 1-based file line of the first line of `down`, when there is a down section.
    public var downStartLine: Int?
    /// The lowercase hex SHA-256 of the normalised bytes (see `Checksum`).
    public var checksum: String

    /// Whether the revision can be reverted: it has a `-- migrate:down` section (possibly empty).
    public var isReversible: Bool { down != nil }

    /// Whether the up section holds no statement (only blank lines or comments): such a file is still being written,
    /// and applying it is refused.
    public var hasEmptyUp: Bool { !MigrationFile.containsCode(up) }

    /// Whether `sql` holds anything but white space, `;`, `--` comments and (nested) block comments: a linear scan
    /// over the UTF-8 bytes, much cheaper than splitting the statements (it runs for every revision applied).
    static func containsCode(_ sql: String) -> Bool {
        var bytes = sql.utf8.makeIterator()
        var pending: UInt8? = nil
        func next() -> UInt8? {
            if let byte = pending { pending = nil; return byte }
            return bytes.next()
        }
        while let byte = next() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C,
                UInt8(ascii: ";"):
                continue
            case UInt8(ascii: "-"):
                guard let following = next() else { return true }
                guard following == UInt8(ascii: "-") else { return true }
                while let skipped = next(), skipped != UInt8(ascii: "\n") {}
            case UInt8(ascii: "/"):
                guard let following = next() else { return true }
                guard following == UInt8(ascii: "*") else { return true }
                var depth = 1
                var previous: UInt8 = 0
                while depth > 0, let current = next() {
                    if previous == UInt8(ascii: "/"), current == UInt8(ascii: "*") {
                        depth += 1
                        previous = 0
                    } else if previous == UInt8(ascii: "*"), current == UInt8(ascii: "/") {
                        depth -= 1
                        previous = 0
                    } else {
                        previous = current
                    }
                }
            default:
                return true
            }
        }
        return false
    }

    /// Creates a migration from its parts; `parse(path:bytes:)` is the usual way to get one.
    public init(
        revision: String, path: String, parents: [String], transactional: Bool, up: String, down: String?,
        upStartLine: Int, downStartLine: Int?, checksum: String
    ) {
        self.revision = revision
        self.path = path
        self.parents = parents
        self.transactional = transactional
        self.up = up
        self.down = down
        self.upStartLine = upStartLine
        self.downStartLine = downStartLine
        self.checksum = checksum
    }

    /// Parses a file; the revision id comes from `path`'s last component minus `.sql` (validate it).
    ///
    /// `bytes` are the raw file contents; a UTF-8 BOM is dropped and CRLF read as LF before parsing, and
    /// the checksum is computed from those normalised bytes. Invalid UTF-8 is an error. Every error names
    /// the line (when there is one) and what was expected.
    public static func parse(path: String, bytes: [UInt8]) throws(MigrationError) -> MigrationFile {
        let revision = try revisionID(fromPath: path)
        let normalized = Checksum.normalize(bytes)
        let (layout, up, down) = try normalized.withUnsafeBufferPointer {
            (buffer) throws(MigrationError) -> (MigrationParser.Layout, String, String?) in
            let parser = MigrationParser(path: path, bytes: buffer)
            let layout = try parser.parse()
            return (layout, buffer.text(layout.up), layout.down.map { buffer.text($0) })
        }
        return MigrationFile(
            revision: revision,
            path: path,
            parents: layout.header.parents,
            transactional: layout.header.transactional,
            up: up,
            down: down,
            upStartLine: layout.upStartLine,
            downStartLine: layout.downStartLine,
            checksum: Checksum.sha256Hex(ofNormalized: normalized))
    }

    /// Checks a file as `parse(path:bytes:)` does, with the same errors, and returns only its revision and parents.
    ///
    /// Neither the sections' text nor the checksum is made: for `orchestrate check`, which reads every file for the
    /// graph, the SHA-256 of the checksum costs more than the parsing.
    public static func parseNode(path: String, bytes: [UInt8]) throws(MigrationError) -> RevisionNode {
        let revision = try revisionID(fromPath: path)
        let layout = try Checksum.normalize(bytes).withUnsafeBufferPointer {
            (buffer) throws(MigrationError) -> MigrationParser.Layout in
            try MigrationParser(path: path, bytes: buffer).parse()
        }
        return RevisionNode(id: revision, parents: layout.header.parents)
    }

    /// Renders a new file's text (header, up, down) in the canonical format; used by `new` and `merge`.
    ///
    /// The header has a `-- parent:` line (omitted for a root) and `-- transaction: false` only when
    /// `transactional` is false. Each non-empty section is ended with a newline if it lacks one. With
    /// `down == nil` there is no `-- migrate:down` line, so the revision is irreversible. Parsing the result
    /// gives back the same parents, transaction mode and (newline-terminated) sections.
    public static func render(parents: [String], transactional: Bool, up: String, down: String?) -> String {
        var text = ""
        if !parents.isEmpty {
            text += "-- parent: " + parents.joined(separator: ", ") + "\n"
        }
        if !transactional {
            text += "-- transaction: false\n"
        }
        text += "-- migrate:up\n" + terminated(up)
        if let down {
            text += "-- migrate:down\n" + terminated(down)
        }
        return text
    }

    private static func terminated(_ section: String) -> String {
        section.isEmpty || section.hasSuffix("\n") ? section : section + "\n"
    }

    /// The revision id of `path`: its last path component without `.sql`, validated.
    ///
    /// Read on bytes as on Characters: a combining mark after the last slash, or a prepended sign before it, joins the
    /// slash to its neighbour (`dir/\u{301}x.sql` holds no `/` Character), so such a slash does not end a directory.
    private static func revisionID(fromPath path: String) throws(MigrationError) -> String {
        var utf8Path = path
        // `withUTF8` rethrows untyped errors: the closure returns the error instead.
        let revision = utf8Path.withUTF8 { utf8 -> Result<String, MigrationError> in
            var nameStart = utf8.count
            while nameStart > 0, !utf8.isLone(UInt8(ascii: "/"), at: nameStart - 1) {
                nameStart -= 1
            }
            let name = nameStart..<utf8.count
            let extensionStart = name.upperBound - 4
            guard name.count >= 4, utf8.bytes(in: extensionStart..<name.upperBound, equal: ".sql"),
                utf8.isLoneCharacter(at: extensionStart)
            else {
                return .failure(
                    MigrationError(
                        path: path, line: nil,
                        message: "expected a file name of the form '<revision>.sql'; rename '\(utf8.text(name))' to "
                            + "end in '.sql'"))
            }
            let revision = name.lowerBound..<extensionStart
            guard RevisionID.isValid(utf8: UnsafeBufferPointer(rebasing: utf8[revision])) else {
                return .failure(
                    MigrationError(
                        path: path, line: nil,
                        message: "invalid revision id '\(utf8.text(revision))' (the file name without '.sql'): ids "
                            + "must match \(RevisionID.pattern), i.e. start with a letter or digit and use only "
                            + "letters, digits, '_', '.' and '-'; rename the file (and the '-- parent:' lines that "
                            + "name it)"))
            }
            return .success(utf8.text(revision))
        }
        return try revision.get()
    }
}
