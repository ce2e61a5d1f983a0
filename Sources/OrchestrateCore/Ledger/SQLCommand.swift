import Postgres
import Synchronization

/// One statement with its bound parameters (`$1`…`$n`), as sent with PQexecParams.
///
/// Build one with `SQLCommand.Builder`, which numbers the placeholders as it binds the values.
struct SQLCommand {
    var sql: String
    var parameters: [SQLParameter]
    /// The text's placeholders, found once, for a statement made by `cached`.
    var template: SQLTemplate? = nil

    /// Builds a statement's text and parameters together: `bind` appends a value and returns its placeholder.
    struct Builder {
        private(set) var parameters: [SQLParameter] = []

        /// Appends `value` and returns its placeholder, `$n`, cast to `cast` when given (`$3::boolean`).
        mutating func bind(_ value: SQLParameter, as cast: String? = nil) -> String {
            parameters.append(value)
            return "$\(parameters.count)" + (cast.map { "::" + $0 } ?? "")
        }

    }

    /// The statement `body` writes, with the values it binds on the builder it is given, in order.
    static func build(_ body: (inout Builder) -> String) -> SQLCommand {
        var builder = Builder()
        let sql = body(&builder)
        return SQLCommand(sql: sql, parameters: builder.parameters)
    }

    /// Runs the statement on `connection`.
    @discardableResult
    func run(on connection: Connection) throws(PostgresError) -> QueryResult {
        try connection.query(sql, parameters)
    }

    /// The statement with every `$n` outside quotes replaced by its value quoted with `quote` (PQescapeLiteral),
    /// or `NULL`: what `plan --sql` prints, so that a script run by hand writes what a run would, and what a run sends
    /// when a ledger write travels with `COMMIT` in one round trip.
    func inlined(quote: (String) throws(PostgresError) -> String) throws(PostgresError) -> String {
        try (template ?? SQLTemplate(sql, parameterCount: parameters.count)).inlined(parameters, quote: quote)
    }

    /// The statement `body` writes, whose text depends only on `key` (the ledger's quoted schema and which write it
    /// is), never on the values: the text is built and its placeholders found once per process, and each call only
    /// binds `parameters`, which must be the values `body` binds, in order (checked in debug builds: the tests).
    ///
    /// A ledger write runs once per revision applied; building the same INSERT of thirty columns a thousand times
    /// was a quarter of a 1,000-revision run's own CPU.
    static func cached(
        _ key: String, parameters: [SQLParameter], body: (inout Builder) -> String
    ) -> SQLCommand {
        let template = templates.withLock { cache in
            if let found = cache[key] { return found }
            let built = build(body)
            let made = SQLTemplate(built.sql, parameterCount: built.parameters.count)
            cache[key] = made
            return made
        }
        assert(build(body).sql == template.sql, "the text of `\(key)` depends on its values")
        assert(build(body).parameters == parameters, "the parameters of `\(key)` differ from what its text binds")
        return SQLCommand(sql: template.sql, parameters: parameters, template: template)
    }

    private static let templates = Mutex<[String: SQLTemplate]>([:])
}

/// A statement's text with its `$n` placeholders found: the spans to copy as they are, and the parameter each one is
/// followed by. Finding them reads the text once; inlining values then only copies.
struct SQLTemplate: Sendable {
    let sql: String
    /// `sql`'s UTF-8 bytes.
    private let bytes: [UInt8]
    /// Byte offsets into `bytes`: copy `spans[k]`, then the value of `slots[k]` (0-based) when there is one.
    private let spans: [Range<Int>]
    private let slots: [Int]

    /// Finds the placeholders of `sql` that stand outside quotes; a `$n` right after an identifier character (`a$1`)
    /// or past `parameterCount` is left as it is.
    init(_ sql: String, parameterCount: Int) {
        self.sql = sql
        let bytes = Array(sql.utf8)
        var spans: [Range<Int>] = []
        var slots: [Int] = []
        var copied = 0
        var index = 0
        var openQuote: UInt8?
        /// Whether the character before `index` continues an identifier or a number.
        var afterIdentifier = false
        while index < bytes.count {
            let byte = bytes[index]
            if let open = openQuote {
                if byte == open { openQuote = nil }
                afterIdentifier = false
                index += 1
                continue
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                openQuote = byte
                afterIdentifier = false
                index += 1
                continue
            }
            guard byte == UInt8(ascii: "$"), !afterIdentifier, index + 1 < bytes.count,
                SQLCommand.isDigit(bytes[index + 1])
            else {
                afterIdentifier = SQLCommand.continuesIdentifier(byte)
                index += 1
                continue
            }
            var end = index + 1
            var number = 0
            while end < bytes.count, SQLCommand.isDigit(bytes[end]) {
                number = min(number * 10 + Int(bytes[end] - UInt8(ascii: "0")), Int(Int32.max))
                end += 1
            }
            if number >= 1, number <= parameterCount {
                spans.append(copied..<index)
                slots.append(number - 1)
                copied = end
                // The value is a quoted literal (or NULL): a `$n` right after it is a placeholder too.
                afterIdentifier = false
            } else {
                afterIdentifier = true
            }
            index = end
        }
        spans.append(copied..<bytes.count)
        self.bytes = bytes
        self.spans = spans
        self.slots = slots
    }

    /// The text with each placeholder replaced by its value: text quoted with `quote`, numbers and booleans as they
    /// are, `NULL`.
    func inlined(
        _ parameters: [SQLParameter], quote: (String) throws(PostgresError) -> String
    ) throws(PostgresError) -> String {
        var quoted: [String] = []
        quoted.reserveCapacity(slots.count)
        var length = bytes.count
        for slot in slots {
            let value: String
            switch parameters[slot] {
            case .null: value = "NULL"
            // Numbers and booleans are literals of their own: nothing in them needs quoting.
            case .integer(let number): value = String(number)
            case .boolean(let flag): value = flag ? "true" : "false"
            case .text, .textArray: value = try parameters[slot].textValue.map(quote) ?? "NULL"
            }
            length += value.utf8.count
            quoted.append(value)
        }
        var output: [UInt8] = []
        output.reserveCapacity(length)
        for (index, span) in spans.enumerated() {
            output.append(contentsOf: bytes[span])
            if index < quoted.count { output.append(contentsOf: quoted[index].utf8) }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension SQLCommand {
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Letters, digits, `_` and (as for identifiers) any non-ASCII byte.
    static func continuesIdentifier(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
            || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
    }
}
