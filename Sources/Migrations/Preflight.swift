/// What can be known about running revisions before anything runs: every command that applies or reverts
/// (upgrade, promote, downgrade, verify) and `check` ask this one place, so a rule is decided and worded once.
///
/// The rules:
/// - an up section with no statement is a file still being written, and is refused; a merge revision (several
///   parents) may be SQL-free, as `orchestrate merge` writes it;
/// - a statement that PostgreSQL cannot run inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...)
///   or that ends the transaction (`COMMIT`) is refused in a revision that runs in one.
///
/// All problems of a plan are found at once, so a user fixes them in one go.
public enum Preflight {
    /// One problem, with where it is and the way out.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong.
        public enum Kind: Sendable, Hashable {
            /// The up section has no statement.
            case emptyUp
            /// `statement` (its leading words, such as `CREATE INDEX CONCURRENTLY`) cannot run in a transaction block.
            case needsNoTransaction(statement: String)
            /// `statement` (`COMMIT`, `BEGIN`, ...) would end or nest the revision's own transaction.
            case transactionControl(statement: String)
        }

        /// What is wrong.
        public var kind: Kind
        /// The revision.
        public var revision: String
        /// The file (or ledger entry) to point at.
        public var path: String
        /// The 1-based line in `path`.
        public var line: Int
        /// Whether the problem is in a down section.
        public var inDownSection: Bool

        /// Makes a problem.
        public init(kind: Kind, revision: String, path: String, line: Int, inDownSection: Bool = false) {
            self.kind = kind
            self.revision = revision
            self.path = path
            self.line = line
            self.inDownSection = inDownSection
        }

        /// `path:line: what is wrong`.
        public var description: String {
            let section = inDownSection ? "down" : "up"
            switch kind {
            case .emptyUp:
                return "\(path):\(line): revision \(revision) has no statement under `-- migrate:up`"
            case .needsNoTransaction(let statement):
                return "\(path):\(line): `\(statement)` cannot run inside a transaction block, and the \(section) "
                    + "section of revision \(revision) runs in one"
            case .transactionControl(let statement):
                return "\(path):\(line): `\(statement)` in the \(section) section of revision \(revision) would end "
                    + "the transaction that holds the revision and its ledger row"
            }
        }

        /// The way out.
        public var fix: String {
            switch kind {
            case .emptyUp:
                return
                    "write the change below `-- migrate:up` in \(path), or delete the file if the revision is not needed"
            case .needsNoTransaction:
                return "add `-- transaction: false` to the header of \(path) (its statements then run one by one, "
                    + "outside a transaction), or move the statement to a revision of its own with that header"
            case .transactionControl:
                return "remove the statement from \(path): orchestrate opens and commits the transaction itself "
                    + "(use `-- transaction: false` for a revision that must run outside one)"
            }
        }
    }

    /// The problems of applying `files` (in plan order). `singleTransaction` is true when the whole run shares one
    /// transaction, so even a `-- transaction: false` revision would run inside it.
    public static func problems(applying files: [MigrationFile], singleTransaction: Bool = false) -> [Problem] {
        var problems: [Problem] = []
        for file in files {
            if file.isUnwritten {
                problems.append(
                    Problem(
                        kind: .emptyUp, revision: file.revision, path: file.path,
                        line: max(1, file.upStartLine - 1)))
                continue
            }
            if file.transactional || singleTransaction {
                problems += sectionProblems(
                    file.up, revision: file.revision, path: file.path,
                    firstLine: file.upStartLine, down: false)
            }
        }
        return problems
    }

    /// The problems of running a down section (`sql`, as recorded or as written) for `revision`.
    public static func problems(
        reverting revision: String, down sql: String, transactional: Bool, path: String,
        firstLine: Int
    ) -> [Problem] {
        guard transactional else { return [] }
        return sectionProblems(sql, revision: revision, path: path, firstLine: firstLine, down: true)
    }

    /// The problems of one section that runs in a transaction.
    static func sectionProblems(_ sql: String, revision: String, path: String, firstLine: Int, down: Bool) -> [Problem]
    {
        // Splitting costs far more than a scan for the few words that can matter; most revisions have none.
        guard mayHoldTransactionProblem(sql) else { return [] }
        var problems: [Problem] = []
        for statement in SQLSplitter.split(sql) {
            let words = StatementWords(statement.text)
            guard let kind = classify(words.words) else { continue }
            problems.append(
                Problem(
                    kind: kind, revision: revision, path: path,
                    line: firstLine + statement.line - 1 + words.leadingLines, inDownSection: down))
        }
        return problems
    }

    /// What is wrong with a statement whose leading words (upper-cased, outside quotes and comments) are `words`.
    static func classify(_ words: [String]) -> Problem.Kind? {
        guard let first = words.first else { return nil }
        func word(_ index: Int) -> String { index < words.count ? words[index] : "" }
        let phrase = { (count: Int) in words.prefix(count).joined(separator: " ") }
        switch first {
        case "CREATE":
            if word(1) == "DATABASE" || word(1) == "TABLESPACE" { return .needsNoTransaction(statement: phrase(2)) }
            let index = word(1) == "UNIQUE" ? 2 : 1
            if word(index) == "INDEX", word(index + 1) == "CONCURRENTLY" {
                return .needsNoTransaction(statement: phrase(index + 2))
            }
        case "DROP":
            if word(1) == "DATABASE" || word(1) == "TABLESPACE" { return .needsNoTransaction(statement: phrase(2)) }
            if word(1) == "INDEX", word(2) == "CONCURRENTLY" { return .needsNoTransaction(statement: phrase(3)) }
        case "REINDEX":
            if words.contains("CONCURRENTLY") { return .needsNoTransaction(statement: "REINDEX ... CONCURRENTLY") }
            if let kind = words.dropFirst().first(where: { $0 == "DATABASE" || $0 == "SYSTEM" }) {
                return .needsNoTransaction(statement: "REINDEX \(kind)")
            }
        case "VACUUM":
            return .needsNoTransaction(statement: "VACUUM")
        case "CLUSTER":
            // Without a table, CLUSTER reclusters the whole database, which cannot run in a transaction block.
            if words.dropFirst().allSatisfy({ $0 == "VERBOSE" }) { return .needsNoTransaction(statement: "CLUSTER") }
        case "ALTER":
            if word(1) == "SYSTEM" { return .needsNoTransaction(statement: "ALTER SYSTEM") }
            if word(1) == "DATABASE", words.contains("TABLESPACE") {
                return .needsNoTransaction(statement: "ALTER DATABASE ... SET TABLESPACE")
            }
            if word(1) == "TABLE", let detach = words.firstIndex(of: "DETACH"),
                words[detach...].contains("CONCURRENTLY")
            {
                return .needsNoTransaction(statement: "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY")
            }
        case "COMMIT", "END", "ABORT", "BEGIN":
            return .transactionControl(statement: first)
        case "ROLLBACK":
            // ROLLBACK TO SAVEPOINT stays inside the transaction.
            if word(1) != "TO" { return .transactionControl(statement: "ROLLBACK") }
        case "START":
            if word(1) == "TRANSACTION" { return .transactionControl(statement: "START TRANSACTION") }
        default:
            break
        }
        return nil
    }

    /// Whether `sql` holds, in any case, one of the words a transaction problem starts with or needs: a single pass
    /// over the bytes that looks at whole words of 5 to 12 letters only.
    static func mayHoldTransactionProblem(_ sql: String) -> Bool {
        var sql = sql
        return sql.withUTF8 { bytes in
            var start = -1
            for index in 0...bytes.count {
                let byte = index < bytes.count ? bytes[index] | 0x20 : 0
                if byte >= UInt8(ascii: "a"), byte <= UInt8(ascii: "z") {
                    if start < 0 { start = index }
                    continue
                }
                if start >= 0 {
                    let length = index - start
                    if length >= 3, length <= 12, isKeyword(UnsafeBufferPointer(rebasing: bytes[start..<index])) {
                        return true
                    }
                    start = -1
                }
            }
            return false
        }
    }

    /// The words that make `mayHoldTransactionProblem` split a section.
    private static let keywords: [[UInt8]] = [
        "concurrently", "vacuum", "database", "tablespace", "system", "cluster", "commit", "rollback", "begin", "start",
        "end", "abort",
    ].map { Array($0.utf8) }

    private static func isKeyword(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        keywords.contains { keyword in
            keyword.count == word.count && zip(keyword, word).allSatisfy { $0 == $1 | 0x20 }
        }
    }
}

extension MigrationFile {
    /// Whether the revision is still being written: its up section has no statement and it is not a merge revision
    /// (which may be SQL-free). Applying it is refused; see `Preflight`.
    public var isUnwritten: Bool { parents.count < 2 && hasEmptyUp }
}

/// The leading words of a statement, upper-cased, skipping comments, quoted text and punctuation; and how many lines
/// of comments and blank lines come before its first word.
struct StatementWords {
    var words: [String] = []
    var leadingLines = 0

    /// Reads at most `limit` words of `text`.
    init(_ text: String, limit: Int = 24) {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var sawWord = false
        func at(_ offset: Int) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }
        while index < scalars.count, words.count < limit {
            let scalar = scalars[index]
            if scalar == "-", at(1) == "-" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            } else if scalar == "/", at(1) == "*" {
                var depth = 0
                while index < scalars.count {
                    if scalars[index] == "/", at(1) == "*" { depth += 1; index += 2; continue }
                    if scalars[index] == "*", at(1) == "/" { depth -= 1; index += 2; if depth == 0 { break }; continue }
                    if scalars[index] == "\n", !sawWord { leadingLines += 1 }
                    index += 1
                }
            } else if scalar == "'" || scalar == "\"" {
                // A string or a quoted identifier: skip it (a doubled quote inside is two quoted runs, same result).
                index += 1
                while index < scalars.count, scalars[index] != scalar { index += 1 }
                index += 1
                sawWord = true
            } else if scalar == "$" {
                // A dollar quote ($$ or $tag$): skip to the same tag; `$1` is a parameter.
                var end = index + 1
                while end < scalars.count, scalars[end] == "_" || scalars[end].properties.isAlphabetic { end += 1 }
                if end < scalars.count, scalars[end] == "$" {
                    let tag = Array(scalars[index...end])
                    var search = end + 1
                    var closed = scalars.count
                    while search + tag.count <= scalars.count {
                        if Array(scalars[search..<(search + tag.count)]) == tag { closed = search + tag.count; break }
                        search += 1
                    }
                    index = closed
                } else {
                    index = end
                }
                sawWord = true
            } else if scalar.properties.isAlphabetic || scalar == "_" {
                var end = index
                while end < scalars.count,
                    scalars[end].properties.isAlphabetic || scalars[end] == "_"
                        || ("0"..."9").contains(scalars[end])
                {
                    end += 1
                }
                words.append(String(String.UnicodeScalarView(scalars[index..<end])).uppercased())
                sawWord = true
                index = end
            } else {
                if scalar == "\n", !sawWord { leadingLines += 1 }
                if !scalar.properties.isWhitespace { sawWord = true }
                index += 1
            }
        }
    }
}
