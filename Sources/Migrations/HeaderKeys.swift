/// The header keys (DESIGN §2) in one table: each key's name, how its value is read and checked, and where it goes.
///
/// A header line is `-- key: value` before `-- migrate:up`, with a key matching `[a-z][a-z_-]*` and the colon right
/// after it. A key not in the table is an error, and so is a second line with the same key; a near-miss of a known
/// key (`-- Parent: a`, `-- parent : a`) is an error too, so that a typo is never taken for a comment.
struct HeaderKey: Sendable {
    /// The key, as written before the colon.
    let name: StaticString
    /// What to say after "a second '-- key:' line (the first is on line N): ".
    let secondLineAdvice: String
    /// Reads the value of the key's line (trimmed; 0-based line) and stores it in the header, or throws when it is not
    /// a valid value.
    let read:
        @Sendable (MigrationParser, _ value: Range<Int>, _ line: Int, inout MigrationHeader) throws(MigrationError)
            -> Void

    /// Every header key, at most 64. Adding one: an entry here, the field of `MigrationHeader` it stores its value in,
    /// and the code that uses that field (usually a property of `MigrationFile`, set in `MigrationFile.parse`).
    static let all: [HeaderKey] = [
        HeaderKey(
            name: "parent",
            secondLineAdvice: "expected one line; a merge revision lists all its parents on it, '-- parent: A, B'"
        ) { parser, value, line, header throws(MigrationError) in
            header.parents = try parser.parents(value, line: line)
        },
        HeaderKey(name: "transaction", secondLineAdvice: "remove one of them") {
            parser, value, line, header throws(MigrationError) in
            header.transactional = try parser.transactionMode(value, line: line)
        },
    ]
}

/// What a file's header says, read line by line: a field for each header key, with its value when the key is absent.
struct MigrationHeader {
    /// `-- parent: A, B`: the parent ids in the order written; `[]` for the root.
    var parents: [String] = []
    /// `-- transaction: false`: whether the revision runs inside a transaction.
    var transactional = true
    /// The keys read so far, one bit per index in `HeaderKey.all`: a second line with one of them is an error.
    fileprivate var keysRead: UInt64 = 0
}

extension MigrationParser {
    /// Reads one header comment, line `index` (0-based) whose body after `--` and blanks is `body`: a header key, a
    /// free-form comment, or an error.
    func readHeaderComment(
        _ body: Range<Int>, line: Range<Int>, index: Int, into header: inout MigrationHeader
    )
        throws(MigrationError)
    {
        guard let colon = keyColon(inComment: body) else {
            if let known = misspelledKey(body) {
                throw misspelledKeyError(line: index, text: bytes.text(bytes.trimming(line)), known: known)
            }
            return  // A free-form comment.
        }
        let name = body.lowerBound..<colon
        guard let keyIndex = HeaderKey.all.firstIndex(where: { bytes.bytes(in: name, equal: $0.name) }) else {
            throw unknownKeyError(line: index, key: bytes.text(name))
        }
        let bit: UInt64 = 1 << keyIndex
        guard header.keysRead & bit == 0 else {
            throw secondKeyLineError(HeaderKey.all[keyIndex], line: index)
        }
        header.keysRead |= bit
        try HeaderKey.all[keyIndex].read(self, bytes.trimming(colon + 1..<body.upperBound), index, &header)
    }

    /// The offset of the colon of a header key at the start of the comment body `body` (after `--` and blanks): the
    /// key matches `[a-z][a-z_-]*` and the colon follows it; nil when the comment is no header key.
    func keyColon(inComment body: Range<Int>) -> Int? {
        var keyEnd = body.lowerBound
        while keyEnd < body.upperBound, Self.isKeyByte(bytes[keyEnd], first: keyEnd == body.lowerBound) {
            keyEnd += 1
        }
        guard keyEnd != body.lowerBound, keyEnd < body.upperBound, bytes.isLone(UInt8(ascii: ":"), at: keyEnd) else {
            return nil
        }
        return keyEnd
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
    private func append(
        parent id: String, to parents: inout [String], value: Range<Int>, line index: Int
    )
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

    /// The error for a second line with `key`, on 0-based line `index`. The first one is found again: every line
    /// before `index` was read as a header line, and only this error needs to know where it was.
    func secondKeyLineError(_ key: HeaderKey, line index: Int) -> MigrationError {
        var first = 0
        var start = 0
        while first < index {
            let end = bytes.firstIndex(of: UInt8(ascii: "\n"), in: start..<bytes.count) ?? bytes.count
            if case .comment(let body) = kind(of: start..<end), let colon = keyColon(inComment: body),
                bytes.bytes(in: body.lowerBound..<colon, equal: key.name)
            {
                break
            }
            start = end + 1
            first += 1
        }
        return error(
            line: index, "a second '-- \(key.name):' line (the first is on line \(first + 1)): \(key.secondLineAdvice)")
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
