/// Splits a SQL script into top-level statements, the way `psql` does.
///
/// Used for revisions marked `-- transaction: false`, whose statements (such as `CREATE INDEX CONCURRENTLY`)
/// must each be sent on their own. The scanner follows psql's lexer (`psqlscan.l`): a `;` ends a statement only
/// outside quotes and comments, outside parentheses (multi-action `CREATE RULE ... DO (...; ...)`), and outside
/// `BEGIN ... END` bodies of SQL-standard `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (psql's heuristic: inside
/// such a statement and outside parentheses, `BEGIN` opens a block, `CASE` nests inside one, `END` closes one).
///
/// It assumes `standard_conforming_strings = on` (the default since PostgreSQL 9.1): backslashes escape only in
/// `E'...'` strings. psql meta-commands (`\set`, `\i`) are not supported.
public enum SQLSplitter {
    /// Splits `sql` on top-level `;`, returning the statements in order with where each starts.
    ///
    /// Understood: single-quoted strings with `''` escapes, `E''` strings with backslash escapes, double-quoted
    /// identifiers, dollar quotes with tags (`$$`, `$fn$`; `$1` is a parameter, not a quote), `--` line comments,
    /// nested `/* */` block comments, and `BEGIN ATOMIC ... END` bodies of SQL-standard `CREATE FUNCTION` /
    /// `CREATE PROCEDURE` (with `CASE ... END` nesting inside them). Statements that are empty or only comments and
    /// whitespace are dropped. `text` excludes the terminating `;`.
    ///
    /// Leading comments are KEPT: a statement's `text` runs from the first non-whitespace character after the
    /// previous `;` (a comment, possibly) to the last non-whitespace character before its own `;`, so it is an
    /// exact slice of the input and PostgreSQL's error positions inside it map back through `offset`/`line`.
    /// Positions count Unicode scalars. A final statement without `;` is returned too; an unterminated quote or
    /// comment runs to the end of the input (PostgreSQL will report it).
    public static func split(_ sql: String) -> [SQLStatement] {
        var scanner = StatementScanner(scalars: Array(sql.unicodeScalars))
        return scanner.run()
    }
}

/// The state machine behind `SQLSplitter.split(_:)`.
private struct StatementScanner {
    let scalars: [Unicode.Scalar]
    var position = 0
    var line = 1
    var statements: [SQLStatement] = []

    // The statement being read.
    var firstPosition: Int?
    var firstLine = 1
    /// Whether the statement has anything besides whitespace and comments.
    var hasCode = false
    var parenthesisDepth = 0
    var beginDepth = 0
    /// First letters of the first four words when they are one of create/or/replace/function/procedure (psql).
    var leadingWords: [Character?] = [nil, nil, nil, nil]
    var wordCount = 0

    init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    mutating func run() -> [SQLStatement] {
        while position < scalars.count {
            let scalar = scalars[position]
            if Self.isWhitespace(scalar) {
                advance(to: position + 1)
                continue
            }
            if scalar == ";", parenthesisDepth == 0, beginDepth == 0 {
                finishStatement(end: position)
                advance(to: position + 1)
                continue
            }
            if firstPosition == nil {
                firstPosition = position
                firstLine = line
            }
            let next = position + 1 < scalars.count ? scalars[position + 1] : nil
            switch scalar {
            case "-" where next == "-":
                skipLineComment()
            case "/" where next == "*":
                skipBlockComment()
            case "'":
                hasCode = true
                skipString(from: position, backslashEscapes: false)
            case "\"":
                hasCode = true
                skipQuotedIdentifier()
            case "$":
                hasCode = true
                if let delimiterEnd = dollarQuoteDelimiterEnd(at: position) {
                    skipDollarQuote(delimiter: Array(scalars[position..<delimiterEnd]))
                } else {
                    advance(to: position + 1)  // `$1`, or a `$` inside an operator.
                }
            case "(":
                hasCode = true
                parenthesisDepth += 1
                advance(to: position + 1)
            case ")":
                hasCode = true
                parenthesisDepth = max(0, parenthesisDepth - 1)
                advance(to: position + 1)
            default:
                hasCode = true
                if Self.isIdentifierStart(scalar) {
                    readWord()
                } else {
                    advance(to: position + 1)
                }
            }
        }
        finishStatement(end: scalars.count)
        return statements
    }

    /// Moves to `target`, counting the newlines passed.
    mutating func advance(to target: Int) {
        let end = min(target, scalars.count)
        while position < end {
            if scalars[position] == "\n" {
                line += 1
            }
            position += 1
        }
    }

    mutating func finishStatement(end: Int) {
        defer {
            firstPosition = nil
            hasCode = false
            parenthesisDepth = 0
            beginDepth = 0
            leadingWords = [nil, nil, nil, nil]
            wordCount = 0
        }
        guard let start = firstPosition, hasCode else {
            return
        }
        var stop = end
        while stop > start, Self.isWhitespace(scalars[stop - 1]) {
            stop -= 1
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<stop])
        statements.append(SQLStatement(text: String(view), offset: start, line: firstLine))
    }

    mutating func skipLineComment() {
        var end = position
        while end < scalars.count, scalars[end] != "\n" {
            end += 1
        }
        advance(to: end)
    }

    /// Skips a `/* */` comment; PostgreSQL nests them.
    mutating func skipBlockComment() {
        var end = position + 2
        var depth = 1
        while end < scalars.count, depth > 0 {
            if scalars[end] == "/", end + 1 < scalars.count, scalars[end + 1] == "*" {
                depth += 1
                end += 2
            } else if scalars[end] == "*", end + 1 < scalars.count, scalars[end + 1] == "/" {
                depth -= 1
                end += 2
            } else {
                end += 1
            }
        }
        advance(to: end)
    }

    /// Skips a string whose opening `'` is at `quote`: `''` is a quote, and with `backslashEscapes` (an
    /// `E'...'` string) a backslash escapes the next character.
    mutating func skipString(from quote: Int, backslashEscapes: Bool) {
        var end = quote + 1
        while end < scalars.count {
            let scalar = scalars[end]
            if scalar == "'" {
                if end + 1 < scalars.count, scalars[end + 1] == "'" {
                    end += 2
                    continue
                }
                end += 1
                break
            }
            end += backslashEscapes && scalar == "\\" ? 2 : 1
        }
        advance(to: end)
    }

    /// Skips a `"quoted identifier"`; `""` is a quote.
    mutating func skipQuotedIdentifier() {
        var end = position + 1
        while end < scalars.count {
            if scalars[end] == "\"" {
                if end + 1 < scalars.count, scalars[end + 1] == "\"" {
                    end += 2
                    continue
                }
                end += 1
                break
            }
            end += 1
        }
        advance(to: end)
    }

    /// When a dollar-quote delimiter (`$$`, `$tag$`) starts at `start`, the index just after it.
    ///
    /// A tag starts with a letter, `_` or a non-ASCII character and continues with those or digits, so `$1`
    /// (a parameter) is not a delimiter. A `$` inside a word never gets here: words absorb it.
    func dollarQuoteDelimiterEnd(at start: Int) -> Int? {
        var end = start + 1
        if end < scalars.count, Self.isIdentifierStart(scalars[end]) {
            end += 1
            while end < scalars.count, Self.isIdentifierStart(scalars[end]) || Self.isDigit(scalars[end]) {
                end += 1
            }
        }
        guard end < scalars.count, scalars[end] == "$" else {
            return nil
        }
        return end + 1
    }

    /// Skips a dollar-quoted body and its closing delimiter (the same tag; other tags inside are text).
    mutating func skipDollarQuote(delimiter: [Unicode.Scalar]) {
        var end = position + delimiter.count
        while end < scalars.count {
            if scalars[end] == "$", end + delimiter.count <= scalars.count,
                scalars[end..<(end + delimiter.count)].elementsEqual(delimiter)
            {
                end += delimiter.count
                advance(to: end)
                return
            }
            end += 1
        }
        advance(to: end)
    }

    /// Reads a word (identifier or keyword); `E'...'` starts an escape string.
    mutating func readWord() {
        var end = position + 1
        while end < scalars.count,
            Self.isIdentifierStart(scalars[end]) || Self.isDigit(scalars[end]) || scalars[end] == "$"
        {
            end += 1
        }
        let word = String(String.UnicodeScalarView(scalars[position..<end])).lowercased()
        if word == "e", end < scalars.count, scalars[end] == "'" {
            skipString(from: end, backslashEscapes: true)
            return
        }
        advance(to: end)
        trackBlocks(word)
    }

    /// psql's heuristic for `BEGIN ... END` bodies in `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
    mutating func trackBlocks(_ word: String) {
        if wordCount < leadingWords.count {
            switch word {
            case "create", "or", "replace", "function", "procedure":
                leadingWords[wordCount] = word.first
            default:
                leadingWords[wordCount] = nil
            }
        }
        wordCount += 1
        let isRoutine =
            leadingWords[0] == "c"
            && (leadingWords[1] == "f" || leadingWords[1] == "p"
                || (leadingWords[1] == "o" && leadingWords[2] == "r"
                    && (leadingWords[3] == "f" || leadingWords[3] == "p")))
        guard isRoutine, parenthesisDepth == 0 else {
            return
        }
        switch word {
        case "begin":
            beginDepth += 1
        case "case" where beginDepth >= 1:
            beginDepth += 1
        case "end" where beginDepth > 0:
            beginDepth -= 1
        default:
            break
        }
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}":
            return true
        default:
            return false
        }
    }

    static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_" || scalar.value >= 0x80
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar >= "0" && scalar <= "9"
    }
}
