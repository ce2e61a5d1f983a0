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
        if let invalidOffset = firstInvalidUTF8Offset(normalized) {
            let line = 1 + normalized[..<invalidOffset].count(where: { $0 == newline })
            throw MigrationError(
                path: path, line: line,
                message: "the file is not valid UTF-8 (byte \(invalidOffset + 1) of the file); "
                    + "save it with UTF-8 encoding")
        }
        let parser = MigrationFileParser(path: path, bytes: normalized)
        let sections = try parser.parse()
        return MigrationFile(
            revision: revision,
            path: path,
            parents: sections.parents,
            transactional: sections.transactional,
            up: sections.up,
            down: sections.down,
            upStartLine: sections.upStartLine,
            downStartLine: sections.downStartLine,
            checksum: Checksum.sha256Hex(ofNormalized: normalized))
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
    private static func revisionID(fromPath path: String) throws(MigrationError) -> String {
        // The usual path, `…/<valid id>.sql` in ASCII, read on bytes.
        let fast: String?? = path.utf8.withContiguousStorageIfAvailable { buffer in
            guard buffer.count > 4, buffer.allSatisfy({ $0 < 0x80 && $0 != newline }),
                  buffer[(buffer.count - 4)...].elementsEqual(".sql".utf8) else { return nil }
            let start = (buffer.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
            let revision = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<(buffer.count - 4)]), as: UTF8.self)
            return RevisionID.isValid(revision) ? revision : nil
        }
        if let fast = fast ?? nil { return fast }
        let name: String
        if isSingleLineASCII(path) {
            name = path.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(path[path.index(after: $0)...]) } ?? path
        } else {
            name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        }
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

    /// The offset of the first byte that is not part of well-formed UTF-8, or `nil` when all of it is.
    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return nil  // ASCII, the common case, is valid UTF-8.
        }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
            case .emptyInput:
                return nil
            case .error:
                return offset
            }
        }
    }
}

private let newline = UInt8(ascii: "\n")

/// Whether `text` is ASCII without a newline: then each byte is one Character, and byte-level code is exact.
private func isSingleLineASCII(_ text: String) -> Bool {
    text.utf8.withContiguousStorageIfAvailable { $0.allSatisfy { $0 < 0x80 && $0 != newline } }
        ?? text.utf8.allSatisfy { $0 < 0x80 && $0 != newline }
}

/// The line-by-line reader behind `MigrationFile.parse(path:bytes:)`; works on normalised, valid UTF-8.
private struct MigrationFileParser {
    struct Sections {
        var parents: [String] = []
        var transactional = true
        var up = ""
        var down: String?
        var upStartLine = 1
        var downStartLine: Int?
    }

    /// What a line is, as far as the markers are concerned.
    enum LineKind: Equatable {
        case upMarker
        case downMarker
        /// Looks like a marker (`-- migrate: down`, `-- migrate:up transaction:false`) but is not one.
        case malformedMarker
        case other
    }

    let path: String
    let bytes: [UInt8]
    /// The byte offset where each line starts. A file ending in a newline has an empty last line.
    let lineStarts: [Int]

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        var starts = [0]
        starts.reserveCapacity(32)
        bytes.withUnsafeBufferPointer { buffer in
            for offset in buffer.indices where buffer[offset] == newline {
                starts.append(offset + 1)
            }
        }
        self.lineStarts = starts
    }

    /// The text of 0-based line `index`, without its newline.
    func line(_ index: Int) -> String {
        let start = lineStarts[index]
        let end = index + 1 < lineStarts.count ? lineStarts[index + 1] - 1 : bytes.count
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The text from the start of 0-based line `first` up to the start of line `end` (or the end of file).
    func text(fromLine first: Int, upTo end: Int?) -> String {
        let start = first < lineStarts.count ? lineStarts[first] : bytes.count
        let stop = end.map { lineStarts[$0] } ?? bytes.count
        return String(decoding: bytes[start..<stop], as: UTF8.self)
    }

    func error(line index: Int, _ message: String) -> MigrationError {
        MigrationError(path: path, line: index + 1, message: message)
    }

    /// The kind of 0-based line `index`. Most lines (SQL) do not start with `--` after leading whitespace,
    /// which the bytes tell without making a String; the others go through `kind(of:)`.
    func kind(ofLine index: Int) -> LineKind {
        var position = lineStarts[index]
        let end = index + 1 < lineStarts.count ? lineStarts[index + 1] - 1 : bytes.count
        while position < end, Self.isASCIISpace(bytes[position]) { position += 1 }
        guard end - position >= 2, bytes[position] == UInt8(ascii: "-"), bytes[position + 1] == UInt8(ascii: "-") else {
            return .other
        }
        let lineBytes = bytes[lineStarts[index]..<end]
        guard lineBytes.allSatisfy({ $0 < 0x80 }) else {
            return Self.kind(of: line(index))
        }
        // ASCII without a newline: one byte per Character, so this is `kind(of:)` on bytes.
        var bodyEnd = end
        while bodyEnd > position, Self.isASCIISpace(bytes[bodyEnd - 1]) { bodyEnd -= 1 }
        var bodyStart = position + 2
        while bodyStart < bodyEnd, bytes[bodyStart] == UInt8(ascii: " ") || bytes[bodyStart] == UInt8(ascii: "\t") {
            bodyStart += 1
        }
        let body = bytes[bodyStart..<bodyEnd]
        if body.elementsEqual("migrate:up".utf8) {
            return .upMarker
        }
        if body.elementsEqual("migrate:down".utf8) {
            return .downMarker
        }
        let lowered = body.lazy.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        if lowered.starts(with: "migrate".utf8),
            lowered.dropFirst(7).drop(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
                .first == UInt8(ascii: ":")
        {
            return .malformedMarker
        }
        return .other
    }

    func parse() throws(MigrationError) -> Sections {
        let lineIndices = 0..<lineStarts.count
        let kinds = lineIndices.map(kind(ofLine:))

        guard let upIndex = kinds.firstIndex(of: .upMarker) else {
            if let malformed = kinds.firstIndex(of: .malformedMarker) {
                throw malformedMarkerError(line: malformed, text: line(malformed))
            }
            if let down = kinds.firstIndex(of: .downMarker) {
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

        var sections = Sections()
        var parentLine: Int?
        var transactionLine: Int?
        var downIndex: Int?

        for index in lineIndices {
            switch kinds[index] {
            case .malformedMarker:
                throw malformedMarkerError(line: index, text: line(index))
            case .upMarker:
                if index != upIndex {
                    throw error(
                        line: index,
                        "a second '-- migrate:up' line (the first is on line \(upIndex + 1)): a migration has "
                            + "exactly one up section; remove this line or move this SQL into another revision")
                }
            case .downMarker:
                if index < upIndex {
                    throw error(
                        line: index,
                        "'-- migrate:down' comes before '-- migrate:up' (line \(upIndex + 1)): expected the up "
                            + "section first; move the down section after the up section")
                }
                if let first = downIndex {
                    throw error(
                        line: index,
                        "a second '-- migrate:down' line (the first is on line \(first + 1)): a migration has at "
                            + "most one down section; remove one of them")
                }
                downIndex = index
            case .other:
                if index < upIndex {
                    try readHeaderLine(
                        line(index), index: index, into: &sections, parentLine: &parentLine,
                        transactionLine: &transactionLine)
                }
            }
        }

        sections.up = text(fromLine: upIndex + 1, upTo: downIndex)
        sections.upStartLine = upIndex + 2
        if let downIndex {
            sections.down = text(fromLine: downIndex + 1, upTo: nil)
            sections.downStartLine = downIndex + 2
        }
        // An up section without statements parses (a file fresh from `orchestrate new` must not break every
        // command); applying it is refused (see `hasEmptyUp`).
        return sections
    }

    /// Reads one header line (not a marker): blank, a comment, a header key, or an error.
    func readHeaderLine(
        _ line: String, index: Int, into sections: inout Sections, parentLine: inout Int?,
        transactionLine: inout Int?
    ) throws(MigrationError) {
        let trimmed = Self.trimmed(line)
        if trimmed.isEmpty {
            return
        }
        guard trimmed.hasPrefix("--") else {
            throw error(
                line: index,
                "expected header comments or '-- migrate:up' before SQL: the header only holds '-- key: value' "
                    + "lines and comments; add a '-- migrate:up' line above the first statement")
        }
        guard let (key, value) = Self.headerKey(in: trimmed) else {
            if let known = Self.misspelledKnownKey(in: trimmed) {
                throw error(
                    line: index,
                    "'\(trimmed)' looks like the '\(known):' header key but is not one: write it in lowercase "
                        + "with the colon right after the key, '-- \(known): ...'")
            }
            return  // A free-form comment.
        }
        switch key {
        case "parent":
            if let first = parentLine {
                throw error(
                    line: index,
                    "a second '-- parent:' line (the first is on line \(first + 1)): expected one line; a merge "
                        + "revision lists all its parents on it, '-- parent: A, B'")
            }
            parentLine = index
            sections.parents = try parents(value, line: index)
        case "transaction":
            if let first = transactionLine {
                throw error(
                    line: index,
                    "a second '-- transaction:' line (the first is on line \(first + 1)): remove one of them")
            }
            transactionLine = index
            switch value {
            case "true":
                sections.transactional = true
            case "false":
                sections.transactional = false
            default:
                throw error(
                    line: index,
                    "invalid value '\(value)' for '-- transaction:': expected 'true' or 'false' "
                        + "('false' runs the revision outside a transaction, e.g. for CREATE INDEX CONCURRENTLY)")
            }
        default:
            throw error(
                line: index,
                "unknown header key '\(key)' (known keys: parent, transaction): fix the key, or if this is a "
                    + "free-form comment, reword it so that it does not look like '-- key: value' "
                    + "(e.g. capitalise the first word)")
        }
    }

    /// The parent ids of a `-- parent:` value, validated.
    func parents(_ value: String, line index: Int) throws(MigrationError) -> [String] {
        guard !value.isEmpty else {
            throw error(
                line: index,
                "'-- parent:' has no revision id: expected '-- parent: ID' (or 'ID1, ID2' for a merge); "
                    + "the root revision has no parent line at all")
        }
        var parents: [String] = []
        let parts: [Substring]
        if isSingleLineASCII(value) {
            parts = value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                .map { value[$0.startIndex..<$0.endIndex] }
        } else {
            parts = value.split(separator: ",", omittingEmptySubsequences: false)
        }
        for part in parts {
            let id = Self.trimmed(String(part))
            guard !id.isEmpty else {
                throw error(
                    line: index,
                    "empty revision id in '-- parent: \(value)': expected ids separated by single commas, "
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
        return parents
    }

    func malformedMarkerError(line index: Int, text: String) -> MigrationError {
        error(
            line: index,
            "malformed marker '\(Self.trimmed(text))': expected '-- migrate:up' or '-- migrate:down' alone on "
                + "the line (options such as 'transaction:false' go in the header as '-- transaction: false')")
    }

    /// Classifies a line: a marker is `--`, optional spaces, then exactly `migrate:up` or `migrate:down`.
    static func kind(of line: String) -> LineKind {
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
        // `migrate` then optional spaces then `:`, in any case: a marker with a typo or with options.
        let lowered = body.lowercased()
        if lowered.hasPrefix("migrate"),
            lowered.dropFirst(7).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(":")
        {
            return .malformedMarker
        }
        return .other
    }

    /// The `(key, value)` of a comment `-- key: value` whose key matches `[a-z][a-z_-]*`, else `nil`.
    static func headerKey(in comment: String) -> (key: String, value: String)? {
        let utf8 = comment.utf8
        if isSingleLineASCII(comment) {
            // One byte per Character: the same rules, on bytes.
            var position = utf8.index(utf8.startIndex, offsetBy: 2, limitedBy: utf8.endIndex) ?? utf8.endIndex
            while position < utf8.endIndex, utf8[position] == UInt8(ascii: " ") || utf8[position] == UInt8(ascii: "\t") {
                position = utf8.index(after: position)
            }
            let keyStart = position
            while position < utf8.endIndex {
                let byte = utf8[position]
                let isKeyByte = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (position != keyStart && (byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")))
                if !isKeyByte {
                    break
                }
                position = utf8.index(after: position)
            }
            guard position != keyStart, position < utf8.endIndex, utf8[position] == UInt8(ascii: ":") else {
                return nil
            }
            return (String(comment[keyStart..<position]), trimmed(String(comment[utf8.index(after: position)...])))
        }
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

    /// The known key a comment almost spells (`-- Parent: a`, `-- parent : a`), so that it is not silently
    /// ignored as a free-form comment.
    static func misspelledKnownKey(in comment: String) -> String? {
        let body = comment.dropFirst(2).drop(while: { $0 == " " || $0 == "\t" }).lowercased()
        for known in ["parent", "transaction"] where body.hasPrefix(known) {
            if body.dropFirst(known.count).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(":") {
                return known
            }
        }
        return nil
    }

    /// Whether `byte` is one of the spaces `trimmed` removes: space, tab, CR, vertical tab, form feed.
    static func isASCIISpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    /// `text` without leading and trailing spaces, tabs and other ASCII whitespace.
    static func trimmed(_ text: String) -> String {
        let fast: String?? = text.utf8.withContiguousStorageIfAvailable { buffer in
            // One byte per Character here (a CR LF pair, the only multi-byte ASCII Character, needs a newline).
            guard buffer.allSatisfy({ $0 < 0x80 && $0 != newline }) else { return nil }
            var start = 0
            var end = buffer.count
            while start < end, isASCIISpace(buffer[start]) { start += 1 }
            while end > start, isASCIISpace(buffer[end - 1]) { end -= 1 }
            if start == 0, end == buffer.count { return text }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
        }
        if let fast = fast ?? nil { return fast }
        let isSpace: (Character) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}"
        }
        let start = text.firstIndex(where: { !isSpace($0) }) ?? text.endIndex
        let end = text.lastIndex(where: { !isSpace($0) }).map(text.index(after:)) ?? start
        return String(text[start..<end])
    }
}
