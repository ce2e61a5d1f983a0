/// The header keys (DESIGN §2) in one table: each key's name, how its value is read and checked, and where it goes.
///
/// A header line is `-- key: value` before `-- migrate:up`, with a key matching `[a-z][a-z_-]*` and the colon right
/// after it. A key not in the table is an error, and so is a second line with the same key; a near-miss of a known
/// key (`-- Parent: a`, `-- parent : a`) is an error too, so that a typo is never taken for a comment.
struct HeaderKey: Sendable {
    /// The key, as written before the colon.
    let name: StaticString
    /// Reads the (trimmed) value of the key's line (0-based) into the header, or throws if it is no valid value or
    /// the key was already given.
    let read: @Sendable (MigrationParser, _ value: Range<Int>, _ line: Int, inout MigrationHeader) throws(MigrationError)
        -> Void

    /// Every header key. Adding one: an entry here, a field in `MigrationHeader` that it fills, and the code that
    /// uses that field (usually a property of `MigrationFile`, set in `MigrationFile.parse(path:bytes:)`).
    static let all: [HeaderKey] = [
        HeaderKey(
            "parent", into: \.parents,
            secondLine: "expected one line; a merge revision lists all its parents on it, '-- parent: A, B'"
        ) { parser, value, line throws(MigrationError) in
            try parser.parents(value, line: line)
        },
        HeaderKey("transaction", into: \.transactional, secondLine: "remove one of them") {
            parser, value, line throws(MigrationError) in
            try parser.transactionMode(value, line: line)
        },
    ]

    /// A key whose value `parse` reads into `field`; `secondLine` is the advice when the key is given twice.
    init<Value>(
        _ name: StaticString, into field: WritableKeyPath<MigrationHeader, HeaderField<Value>> & Sendable,
        secondLine advice: String,
        parse: @escaping @Sendable (MigrationParser, _ value: Range<Int>, _ line: Int) throws(MigrationError) -> Value
    ) {
        self.name = name
        read = { parser, value, line, header throws(MigrationError) in
            if let first = header[keyPath: field].line {
                throw parser.error(
                    line: line, "a second '-- \(name):' line (the first is on line \(first + 1)): \(advice)")
            }
            header[keyPath: field] = HeaderField(try parse(parser, value, line), line: line)
        }
    }
}

/// What a file's header says: one field per header key, read line by line.
struct MigrationHeader {
    /// `-- parent: A, B`: the parent ids in the order written; `[]` for the root.
    var parents = HeaderField<[String]>([])
    /// `-- transaction: false`: whether the revision runs inside a transaction.
    var transactional = HeaderField(true)
}

/// A header key's value: its default until the key's line is read, then what that line says.
struct HeaderField<Value> {
    var value: Value
    /// The 0-based line of the key, once read.
    var line: Int?

    init(_ value: Value, line: Int? = nil) {
        self.value = value
        self.line = line
    }
}

extension MigrationParser {
    /// Reads one header line (not a marker): blank, a comment, a header key, or an error.
    func readHeaderLine(_ line: Range<Int>, index: Int, into header: inout MigrationHeader) throws(MigrationError) {
        let trimmed = bytes.trimming(line)
        if trimmed.isEmpty {
            return
        }
        guard let body = bytes.commentBody(trimmed) else {
            throw sqlInHeaderError(line: index)
        }
        var keyEnd = body.lowerBound
        while keyEnd < body.upperBound, Self.isKeyByte(bytes[keyEnd], first: keyEnd == body.lowerBound) {
            keyEnd += 1
        }
        guard keyEnd != body.lowerBound, keyEnd < body.upperBound, bytes.isLone(UInt8(ascii: ":"), at: keyEnd) else {
            if let known = misspelledKey(body) {
                throw misspelledKeyError(line: index, text: bytes.text(trimmed), known: known)
            }
            return  // A free-form comment.
        }
        let name = body.lowerBound..<keyEnd
        guard let key = HeaderKey.all.first(where: { bytes.bytes(in: name, equal: $0.name) }) else {
            throw unknownKeyError(line: index, key: bytes.text(name))
        }
        try key.read(self, bytes.trimming(keyEnd + 1..<body.upperBound), index, &header)
    }

    /// Whether `byte` may be part of a header key: `[a-z]`, and `_` or `-` after the first byte.
    static func isKeyByte(_ byte: UInt8, first: Bool) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (!first && (byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")))
    }

    /// The known key the comment body `body` (after `--` and blanks) almost spells, in another case or with blanks
    /// before the colon (`Parent: a`, `parent : a`), so that it is not silently ignored as a free-form comment.
    func misspelledKey(_ body: Range<Int>) -> String? {
        for key in HeaderKey.all where bytes.bytes(in: body, startWithLettersOf: key.name) {
            let afterKey = bytes.skippingBlanks(body.lowerBound + key.name.utf8CodeUnitCount..<body.upperBound)
            if let colon = afterKey.first, bytes.isLone(UInt8(ascii: ":"), at: colon) {
                return key.name.description
            }
        }
        return nil
    }

    // MARK: - Values

    /// The parent ids of the `-- parent:` value `value` (trimmed), validated.
    func parents(_ value: Range<Int>, line index: Int) throws(MigrationError) -> [String] {
        guard !value.isEmpty else {
            throw error(
                line: index,
                "'-- parent:' has no revision id: expected '-- parent: ID' (or 'ID1, ID2' for a merge); "
                    + "the root revision has no parent line at all")
        }
        var parents: [String] = []
        var start = value.lowerBound
        while true {
            let end = nextComma(in: start..<value.upperBound) ?? value.upperBound
            try append(parent: bytes.text(bytes.trimming(start..<end)), to: &parents, value: value, line: index)
            guard end < value.upperBound else {
                return parents
            }
            start = end + 1
        }
    }

    /// The offset of the first comma in `range` that is a Character of its own, or nil.
    private func nextComma(in range: Range<Int>) -> Int? {
        var start = range.lowerBound
        while let comma = bytes.firstIndex(of: UInt8(ascii: ","), in: start..<range.upperBound) {
            if bytes.isLoneCharacter(at: comma) {
                return comma
            }
            start = comma + 1
        }
        return nil
    }

    /// Checks `id`, one comma-separated part (trimmed) of the `-- parent:` value `value`, and appends it to `parents`.
    private func append(parent id: String, to parents: inout [String], value: Range<Int>, line index: Int)
        throws(MigrationError)
    {
        guard !id.isEmpty else {
            throw error(
                line: index,
                "empty revision id in '-- parent: \(bytes.text(value))': expected ids separated by single commas, "
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

    /// The `-- transaction:` value `value` (trimmed): `true` or `false`.
    func transactionMode(_ value: Range<Int>, line index: Int) throws(MigrationError) -> Bool {
        if bytes.bytes(in: value, equal: "true") {
            return true
        }
        if bytes.bytes(in: value, equal: "false") {
            return false
        }
        throw error(
            line: index,
            "invalid value '\(bytes.text(value))' for '-- transaction:': expected 'true' or 'false' "
                + "('false' runs the revision outside a transaction, e.g. for CREATE INDEX CONCURRENTLY)")
    }

    // MARK: - Errors

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
        let known = HeaderKey.all.map { $0.name.description }.joined(separator: ", ")
        return error(
            line: index,
            "unknown header key '\(key)' (known keys: \(known)): fix the key, or if this is a "
                + "free-form comment, reword it so that it does not look like '-- key: value' "
                + "(e.g. capitalise the first word)")
    }
}
