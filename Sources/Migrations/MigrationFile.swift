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
/// `-- key: value` with a lowercase key is a header key: `parent` (comma-separated ids; the root has none,
/// a merge has several) and `transaction` (`true` or `false`). Any other lowercase key is an error, so a
/// typo never goes unnoticed; other comments (`-- TODO: x`, `-- Adds a column`) are ignored. The
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
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C, UInt8(ascii: ";"):
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
            (buffer) throws(MigrationError) -> (MigrationFileParser.Layout, String, String?) in
            let parser = MigrationFileParser(path: path, bytes: buffer)
            let layout = try parser.parse()
            return (layout, parser.text(layout.up), layout.down.map { parser.text($0) })
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
            (buffer) throws(MigrationError) -> MigrationFileParser.Layout in
            try MigrationFileParser(path: path, bytes: buffer).parse()
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
    /// The usual path, with an ASCII file name `<valid id>.sql`, is read on bytes. Any other path, and every error, is
    /// read on Characters: there a combining mark after the last slash, or a prepended sign before it, joins the slash
    /// to its neighbour (`dir/\u{301}x.sql` holds no `/` Character), and messages quote the Characters' reading.
    private static func revisionID(fromPath path: String) throws(MigrationError) -> String {
        if let revision = asciiRevisionID(fromPath: path) {
            return revision
        }
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        guard name.hasSuffix(".sql") else {
            throw MigrationError(
                path: path, line: nil,
                message: "expected a file name of the form '<revision>.sql'; rename '\(name)' to end in '.sql'")
        }
        let revision = String(name.dropLast(4))
        guard RevisionID.isValid(revision) else {
            throw MigrationError(
                path: path, line: nil,
                message: "invalid revision id '\(revision)' (the file name without '.sql'): ids must match "
                    + "\(RevisionID.pattern), i.e. start with a letter or digit and use only letters, digits, "
                    + "'_', '.' and '-'; rename the file (and the '-- parent:' lines that name it)")
        }
        return revision
    }

    /// The revision id of a path whose file name is an ASCII `<valid id>.sql`, read on bytes; nil for any other path.
    private static func asciiRevisionID(fromPath path: String) -> String? {
        var path = path
        return path.withUTF8 { utf8 in
            let slash = utf8.lastIndex(of: UInt8(ascii: "/"))
            // With ASCII on both sides, the slash is a Character of its own: bytes split the path as Characters do.
            if let slash, slash > 0, utf8[slash - 1] >= 0x80 {
                return nil
            }
            let name = (slash.map { $0 + 1 } ?? 0)..<utf8.count
            guard name.count > 4, utf8.isASCII(name) else {
                return nil
            }
            let extensionStart = name.upperBound - 4
            guard utf8.bytes(in: extensionStart..<name.upperBound, equal: ".sql") else {
                return nil
            }
            let revision = UnsafeBufferPointer(rebasing: utf8[name.lowerBound..<extensionStart])
            return RevisionID.isValid(utf8: revision) ? String(decoding: revision, as: UTF8.self) : nil
        }
    }
}

private let newline = UInt8(ascii: "\n")
private let dash = UInt8(ascii: "-")
private let colon = UInt8(ascii: ":")

/// The reader behind `MigrationFile.parse(path:bytes:)`: one pass over the lines of the normalised bytes.
///
/// A line is a byte range without its newline; a file ending in a newline has an empty last line. Most lines are SQL,
/// which their first bytes tell: only lines starting with `--` after white space (markers and comments) and header
/// lines get a closer look. Strings are made only for what the result holds and for error messages.
///
/// Markers and header keys are ASCII, and ASCII lines are read on bytes, one byte per Character. A line holding other
/// bytes is read on Characters wherever that can change the answer (`readHeaderLine(text:index:into:)`,
/// `kind(ofText:)`), as the parser always did: a combining mark joins the ASCII character before it into another
/// Character (`-\u{301}` is no dash, `:\u{301}` no colon), so that such a line reads differently from its bytes.
private struct MigrationFileParser {
    /// What the header says, as it is read line by line.
    struct Header {
        var parents: [String] = []
        var transactional = true
        /// The 0-based lines of the `-- parent:` and `-- transaction:` keys, once read: a second one is an error.
        var parentLine: Int?
        var transactionLine: Int?
    }

    /// What the header says, and where the sections lie.
    struct Layout {
        var header = Header()
        /// The bytes of the up section: from the line after `-- migrate:up` to `-- migrate:down` or the end.
        var up = 0..<0
        /// The 1-based file line of the first line of `up`.
        var upStartLine = 1
        /// The bytes of the down section (after `-- migrate:down`), when there is one.
        var down: Range<Int>?
        /// The 1-based file line of the first line of `down`.
        var downStartLine: Int?
    }

    /// What a line is, as far as the markers are concerned.
    enum LineKind {
        case upMarker
        case downMarker
        /// Looks like a marker (`-- migrate: down`, `-- migrate:up transaction:false`) but is not one.
        case malformedMarker
        case other
    }

    /// The first problem before the up marker (0-based lines). It is thrown when the up marker comes; a file without
    /// an up marker gets an error about that instead.
    enum EarlyProblem {
        case malformedMarker(index: Int, line: Range<Int>)
        case downMarker(index: Int)
        case header(MigrationError)
    }

    let path: String
    /// The normalised file contents; the parser lives inside the closure that provides them.
    let bytes: UnsafeBufferPointer<UInt8>

    init(path: String, bytes: UnsafeBufferPointer<UInt8>) {
        self.path = path
        self.bytes = bytes
    }

    /// Reads the file: where its sections lie and what its header says, or the first error (a NUL byte or invalid
    /// UTF-8 first).
    func parse() throws(MigrationError) -> Layout {
        try checkBytes()
        var layout = Layout()
        var upIndex: Int?
        var downIndex: Int?
        // Header lines are read until the up marker or the first problem before it, which is the one thrown.
        var readingHeader = true
        var early: EarlyProblem?
        var firstMalformed: (index: Int, line: Range<Int>)?
        var firstDown: Int?
        var index = 0
        var start = 0
        while true {
            let end = bytes.firstIndex(of: newline, in: start..<bytes.count) ?? bytes.count
            let line = start..<end
            let nextLine = min(end + 1, bytes.count)
            switch kind(of: line) {
            case .other:
                if readingHeader {
                    do {
                        try readHeaderLine(line, index: index, into: &layout.header)
                    } catch {
                        early = .header(error)
                        readingHeader = false
                    }
                }
            case .malformedMarker:
                if upIndex != nil {
                    throw malformedMarkerError(line: index, text: trimmedText(line))
                }
                firstMalformed = firstMalformed ?? (index, line)
                early = early ?? .malformedMarker(index: index, line: line)
                readingHeader = false
            case .upMarker:
                if let upIndex {
                    throw error(
                        line: index,
                        "a second '-- migrate:up' line (the first is on line \(upIndex + 1)): a migration has "
                            + "exactly one up section; remove this line or move this SQL into another revision")
                }
                if let early {
                    throw error(early, upIndex: index)
                }
                upIndex = index
                readingHeader = false
                layout.up = nextLine..<bytes.count
                layout.upStartLine = index + 2
            case .downMarker:
                guard upIndex != nil else {
                    firstDown = firstDown ?? index
                    early = early ?? .downMarker(index: index)
                    readingHeader = false
                    break
                }
                if let downIndex {
                    throw error(
                        line: index,
                        "a second '-- migrate:down' line (the first is on line \(downIndex + 1)): a migration has at "
                            + "most one down section; remove one of them")
                }
                downIndex = index
                layout.up = layout.up.lowerBound..<start
                layout.down = nextLine..<bytes.count
                layout.downStartLine = index + 2
            }
            guard end < bytes.count else {
                break
            }
            start = end + 1
            index += 1
        }
        guard upIndex != nil else {
            if let malformed = firstMalformed {
                throw malformedMarkerError(line: malformed.index, text: trimmedText(malformed.line))
            }
            if let down = firstDown {
                throw error(
                    line: down,
                    "found '-- migrate:down' but no '-- migrate:up' line: expected a '-- migrate:up' line "
                        + "before the up SQL, and '-- migrate:down' after it")
            }
            throw error(
                line: 0,
                "expected a '-- migrate:up' line: put the header ('-- parent: ...') first, then a line "
                    + "'-- migrate:up', the up SQL, and optionally '-- migrate:down' with the down SQL")
        }
        // An up section without statements parses (a file fresh from `orchestrate new` must not break every
        // command); applying it is refused (see `hasEmptyUp`).
        return layout
    }

    // MARK: - Lines

    /// The text of the bytes in `range`.
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// `range` without leading and trailing white space (see `isASCIISpace`).
    func trimming(_ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, Self.isASCIISpace(bytes[start]) {
            start += 1
        }
        while end > start, Self.isASCIISpace(bytes[end - 1]) {
            end -= 1
        }
        return start..<end
    }

    /// `range` without its leading spaces and tabs.
    func skippingBlanks(_ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        while start < range.upperBound, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") {
            start += 1
        }
        return start..<range.upperBound
    }

    /// The text of `line` without leading and trailing white space, as error messages quote it.
    func trimmedText(_ line: Range<Int>) -> String {
        bytes.isASCII(line) ? text(trimming(line)) : Self.trimmed(text(line))
    }

    /// The kind of `line`: a marker is `--`, optional spaces, then exactly `migrate:up` or `migrate:down`.
    ///
    /// Most lines (SQL) do not start with `--` after white space, which their first bytes tell. A line with non-ASCII
    /// bytes is never a marker (markers are ASCII), and is a malformed marker only if its bytes say so; then the
    /// colon's Character may still differ from its byte (`:\u{301}`), so the Characters decide.
    func kind(of line: Range<Int>) -> LineKind {
        var start = line.lowerBound
        while start < line.upperBound, Self.isASCIISpace(bytes[start]) {
            start += 1
        }
        guard line.upperBound - start >= 2, bytes[start] == dash, bytes[start + 1] == dash else {
            return .other
        }
        let trimmed = trimming(start..<line.upperBound)
        let body = skippingBlanks(trimmed.lowerBound + 2..<trimmed.upperBound)
        if bytes.bytes(in: body, equal: "migrate:up") {
            return .upMarker
        }
        if bytes.bytes(in: body, equal: "migrate:down") {
            return .downMarker
        }
        // `migrate` then optional spaces then `:`, in any case: a marker with a typo or with options.
        guard bytes.bytes(in: body, startWithLettersOf: "migrate"),
            skippingBlanks(body.lowerBound + 7..<body.upperBound).first.map({ bytes[$0] == colon }) == true
        else {
            return .other
        }
        return bytes.isASCII(line) ? .malformedMarker : Self.kind(ofText: text(line))
    }

    // MARK: - Header

    /// Reads one header line (not a marker): blank, a comment, a header key, or an error.
    func readHeaderLine(_ line: Range<Int>, index: Int, into header: inout Header) throws(MigrationError) {
        guard bytes.isASCII(line) else {
            return try readHeaderLine(text: text(line), index: index, into: &header)
        }
        let trimmed = trimming(line)
        if trimmed.isEmpty {
            return
        }
        guard trimmed.count >= 2, bytes[trimmed.lowerBound] == dash, bytes[trimmed.lowerBound + 1] == dash else {
            throw sqlInHeaderError(line: index)
        }
        // A header key is `-- key: value` with a key matching `[a-z][a-z_-]*`.
        let body = skippingBlanks(trimmed.lowerBound + 2..<trimmed.upperBound)
        var keyEnd = body.lowerBound
        while keyEnd < body.upperBound, Self.isKeyByte(bytes[keyEnd], first: keyEnd == body.lowerBound) {
            keyEnd += 1
        }
        guard keyEnd != body.lowerBound, keyEnd < body.upperBound, bytes[keyEnd] == colon else {
            if let known = misspelledKnownKey(body) {
                throw misspelledKeyError(line: index, text: text(trimmed), known: known)
            }
            return  // A free-form comment.
        }
        let key = body.lowerBound..<keyEnd
        let value = trimming(keyEnd + 1..<body.upperBound)
        if bytes.bytes(in: key, equal: "parent") {
            try noteParentLine(index, in: &header)
            header.parents = try parents(value, line: index)
        } else if bytes.bytes(in: key, equal: "transaction") {
            try noteTransactionLine(index, in: &header)
            if bytes.bytes(in: value, equal: "true") {
                header.transactional = true
            } else if bytes.bytes(in: value, equal: "false") {
                header.transactional = false
            } else {
                throw invalidTransactionError(line: index, value: text(value))
            }
        } else {
            throw unknownKeyError(line: index, key: text(key))
        }
    }

    /// The known key the comment body `body` (after `--` and blanks) almost spells (`Parent: a`, `parent : a`), so
    /// that it is not silently ignored as a free-form comment.
    func misspelledKnownKey(_ body: Range<Int>) -> String? {
        for known: StaticString in ["parent", "transaction"] where bytes.bytes(in: body, startWithLettersOf: known) {
            let afterKey = skippingBlanks(body.lowerBound + known.utf8CodeUnitCount..<body.upperBound)
            if afterKey.first.map({ bytes[$0] == colon }) == true {
                return known.description
            }
        }
        return nil
    }

    /// The parent ids of the `-- parent:` value `value` (trimmed), validated.
    func parents(_ value: Range<Int>, line index: Int) throws(MigrationError) -> [String] {
        guard !value.isEmpty else {
            throw noParentError(line: index)
        }
        var parents: [String] = []
        var start = value.lowerBound
        while true {
            let end = bytes.firstIndex(of: UInt8(ascii: ","), in: start..<value.upperBound) ?? value.upperBound
            try append(parent: text(trimming(start..<end)), to: &parents, value: text(value), line: index)
            guard end < value.upperBound else {
                return parents
            }
            start = end + 1
        }
    }

    /// Records the `-- parent:` line `index`; a second one is an error.
    func noteParentLine(_ index: Int, in header: inout Header) throws(MigrationError) {
        if let first = header.parentLine {
            throw error(
                line: index,
                "a second '-- parent:' line (the first is on line \(first + 1)): expected one line; a merge "
                    + "revision lists all its parents on it, '-- parent: A, B'")
        }
        header.parentLine = index
    }

    /// Records the `-- transaction:` line `index`; a second one is an error.
    func noteTransactionLine(_ index: Int, in header: inout Header) throws(MigrationError) {
        if let first = header.transactionLine {
            throw error(
                line: index,
                "a second '-- transaction:' line (the first is on line \(first + 1)): remove one of them")
        }
        header.transactionLine = index
    }

    /// Checks `id`, one comma-separated part (trimmed) of the `-- parent:` value `value`, and appends it to `parents`.
    func append(parent id: String, to parents: inout [String], value: @autoclosure () -> String, line index: Int)
        throws(MigrationError)
    {
        guard !id.isEmpty else {
            throw error(
                line: index,
                "empty revision id in '-- parent: \(value())': expected ids separated by single commas, "
                    + "e.g. '-- parent: A, B'")
        }
        guard RevisionID.isValid(id) else {
            throw error(
                line: index,
                "invalid parent id '\(id)': ids match \(RevisionID.pattern) (the parent's file name "
                    + "without '.sql'); separate several parents with commas")
        }
        guard !parents.contains(id) else {
            throw error(line: index, "parent '\(id)' is listed twice in '-- parent:': list each parent once")
        }
        parents.append(id)
    }

    // MARK: - Lines with non-ASCII bytes, on Characters

    /// `readHeaderLine(_:index:)` for a line holding non-ASCII bytes, read on Characters.
    func readHeaderLine(text line: String, index: Int, into header: inout Header) throws(MigrationError) {
        let trimmed = Self.trimmed(line)
        if trimmed.isEmpty {
            return
        }
        guard trimmed.hasPrefix("--") else {
            throw sqlInHeaderError(line: index)
        }
        guard let (key, value) = Self.headerKey(in: trimmed) else {
            if let known = Self.misspelledKnownKey(in: trimmed) {
                throw misspelledKeyError(line: index, text: trimmed, known: known)
            }
            return  // A free-form comment.
        }
        switch key {
        case "parent":
            try noteParentLine(index, in: &header)
            header.parents = try parents(text: value, line: index)
        case "transaction":
            try noteTransactionLine(index, in: &header)
            switch value {
            case "true":
                header.transactional = true
            case "false":
                header.transactional = false
            default:
                throw invalidTransactionError(line: index, value: value)
            }
        default:
            throw unknownKeyError(line: index, key: key)
        }
    }

    /// `parents(_:line:)` for a value holding non-ASCII bytes, split on Characters.
    func parents(text value: String, line index: Int) throws(MigrationError) -> [String] {
        guard !value.isEmpty else {
            throw noParentError(line: index)
        }
        var parents: [String] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            try append(parent: Self.trimmed(String(part)), to: &parents, value: value, line: index)
        }
        return parents
    }

    /// `kind(of:)` on Characters.
    static func kind(ofText line: String) -> LineKind {
        let trimmed = trimmed(line)
        guard trimmed.hasPrefix("--") else {
            return .other
        }
        let body = trimmed.dropFirst(2).drop(while: { $0 == " " || $0 == "\t" })
        if body == "migrate:up" {
            return .upMarker
        }
        if body == "migrate:down" {
            return .downMarker
        }
        let lowered = body.lowercased()
        if lowered.hasPrefix("migrate"),
            lowered.dropFirst(7).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(":")
        {
            return .malformedMarker
        }
        return .other
    }

    /// The `(key, value)` of a comment `-- key: value` whose key matches `[a-z][a-z_-]*`, else `nil`; on Characters.
    static func headerKey(in comment: String) -> (key: String, value: String)? {
        let body = comment.dropFirst(2).drop(while: { $0 == " " || $0 == "\t" })
        var keyEnd = body.startIndex
        for (position, character) in zip(body.indices, body) {
            let isLowercaseLetter = character.asciiValue.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
            let isKeyCharacter =
                isLowercaseLetter == true
                || (position != body.startIndex && (character == "_" || character == "-"))
            if !isKeyCharacter {
                break
            }
            keyEnd = body.index(after: position)
        }
        guard keyEnd != body.startIndex, keyEnd < body.endIndex, body[keyEnd] == ":" else {
            return nil
        }
        let key = String(body[..<keyEnd])
        let value = trimmed(String(body[body.index(after: keyEnd)...]))
        return (key, value)
    }

    /// `misspelledKnownKey(_:)` on Characters.
    static func misspelledKnownKey(in comment: String) -> String? {
        let body = comment.dropFirst(2).drop(while: { $0 == " " || $0 == "\t" }).lowercased()
        for known in ["parent", "transaction"] where body.hasPrefix(known) {
            if body.dropFirst(known.count).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(":") {
                return known
            }
        }
        return nil
    }

    /// `text` without leading and trailing spaces, tabs and other ASCII white space, on Characters.
    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}"
        }
        let start = text.firstIndex(where: { !isSpace($0) }) ?? text.endIndex
        let end = text.lastIndex(where: { !isSpace($0) }).map(text.index(after:)) ?? start
        return String(text[start..<end])
    }

    // MARK: - Bytes

    /// Whether `byte` is one of the spaces `trimmed` removes: space, tab, CR, vertical tab, form feed.
    static func isASCIISpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    /// Whether `byte` may be part of a header key: `[a-z]`, and `_` or `-` after the first byte.
    static func isKeyByte(_ byte: UInt8, first: Bool) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (!first && (byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")))
    }

    /// Throws at the first byte PostgreSQL could never run: a NUL byte (PostgreSQL refuses it in a query) or a byte
    /// that is not part of well-formed UTF-8, naming its line and offset.
    func checkBytes() throws(MigrationError) {
        let nul = bytes.firstIndex(of: 0, in: bytes.indices)
        if let invalid = firstInvalidUTF8OffsetIfAny(), nul.map({ invalid < $0 }) ?? true {
            throw MigrationError(
                path: path, line: lineNumber(ofOffset: invalid),
                message: "the file is not valid UTF-8 (byte \(invalid + 1) of the file); save it with UTF-8 encoding")
        }
        if let nul {
            throw MigrationError(
                path: path, line: lineNumber(ofOffset: nul),
                message: "the file holds a NUL byte (byte \(nul + 1) of the file), which PostgreSQL cannot run; "
                    + "remove it (a file saved as UTF-16 is full of them: save it as UTF-8)")
        }
    }

    /// The 1-based line of the byte at `offset`.
    private func lineNumber(ofOffset offset: Int) -> Int {
        1 + UnsafeBufferPointer(rebasing: bytes[..<offset]).count(where: { $0 == newline })
    }

    /// The offset of the first byte that is not part of well-formed UTF-8, or nil when all of it is.
    private func firstInvalidUTF8OffsetIfAny() -> Int? {
        // ASCII, the usual case, is valid. Decoding replaces ill-formed sequences, so other text is valid exactly
        // when the standard library's decoding gives back the same bytes.
        if bytes.isASCII(bytes.indices) {
            return nil
        }
        var decoded = String(decoding: bytes, as: UTF8.self)
        if decoded.withUTF8({ $0.hasSameBytes(as: bytes) }) {
            return nil
        }
        return firstInvalidUTF8Offset()
    }

    /// The offset of the first byte that is not part of well-formed UTF-8 (the end when all of it is).
    func firstInvalidUTF8Offset() -> Int {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            offset += UTF8.width(scalar)
        }
        return offset
    }

    // MARK: - Errors

    func error(line index: Int, _ message: String) -> MigrationError {
        MigrationError(path: path, line: index + 1, message: message)
    }

    /// The error for `problem`, found before the up marker on 0-based line `upIndex`.
    func error(_ problem: EarlyProblem, upIndex: Int) -> MigrationError {
        switch problem {
        case .malformedMarker(let index, let line):
            malformedMarkerError(line: index, text: trimmedText(line))
        case .downMarker(let index):
            error(
                line: index,
                "'-- migrate:down' comes before '-- migrate:up' (line \(upIndex + 1)): expected the up "
                    + "section first; move the down section after the up section")
        case .header(let error):
            error
        }
    }

    func malformedMarkerError(line index: Int, text trimmed: String) -> MigrationError {
        error(
            line: index,
            "malformed marker '\(trimmed)': expected '-- migrate:up' or '-- migrate:down' alone on "
                + "the line (options such as 'transaction:false' go in the header as '-- transaction: false')")
    }

    func sqlInHeaderError(line index: Int) -> MigrationError {
        error(
            line: index,
            "expected header comments or '-- migrate:up' before SQL: the header only holds '-- key: value' "
                + "lines and comments; add a '-- migrate:up' line above the first statement")
    }

    func misspelledKeyError(line index: Int, text trimmed: String, known: String) -> MigrationError {
        error(
            line: index,
            "'\(trimmed)' looks like the '\(known):' header key but is not one: write it in lowercase "
                + "with the colon right after the key, '-- \(known): ...'")
    }

    func unknownKeyError(line index: Int, key: String) -> MigrationError {
        error(
            line: index,
            "unknown header key '\(key)' (known keys: parent, transaction): fix the key, or if this is a "
                + "free-form comment, reword it so that it does not look like '-- key: value' "
                + "(e.g. capitalise the first word)")
    }

    func invalidTransactionError(line index: Int, value: String) -> MigrationError {
        error(
            line: index,
            "invalid value '\(value)' for '-- transaction:': expected 'true' or 'false' "
                + "('false' runs the revision outside a transaction, e.g. for CREATE INDEX CONCURRENTLY)")
    }

    func noParentError(line index: Int) -> MigrationError {
        error(
            line: index,
            "'-- parent:' has no revision id: expected '-- parent: ID' (or 'ID1, ID2' for a merge); "
                + "the root revision has no parent line at all")
    }
}
