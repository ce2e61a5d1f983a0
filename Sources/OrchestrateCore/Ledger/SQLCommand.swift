import Postgres

/// One statement with its bound parameters (`$1`…`$n`), as sent with PQexecParams.
///
/// Build one with `SQLCommand.Builder`, which numbers the placeholders as it binds the values.
struct SQLCommand {
    var sql: String
    var parameters: [SQLParameter]

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
    ///
    /// Reads the UTF-8 bytes once and copies the text between parameters in spans (every character it looks for is
    /// ASCII); a `$n` right after an identifier character (`a$1`) or past the parameter count is left as it is.
    func inlined(quote: (String) throws(PostgresError) -> String) throws(PostgresError) -> String {
        let bytes = Array(sql.utf8)
        var output = ""
        let values = parameters.map(\.textValue)
        output.reserveCapacity(bytes.count + values.reduce(0) { $0 + ($1?.utf8.count ?? 4) + 2 })
        var copied = 0
        var index = 0
        var openQuote: UInt8?
        /// Whether the character before `index` (as emitted) continues an identifier or a number.
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
            guard byte == UInt8(ascii: "$"), !afterIdentifier, index + 1 < bytes.count, Self.isDigit(bytes[index + 1])
            else {
                afterIdentifier = Self.continuesIdentifier(byte)
                index += 1
                continue
            }
            var end = index + 1
            var number = 0
            while end < bytes.count, Self.isDigit(bytes[end]) {
                number = min(number * 10 + Int(bytes[end] - UInt8(ascii: "0")), Int(Int32.max))
                end += 1
            }
            if number >= 1, number <= values.count {
                output += String(decoding: bytes[copied..<index], as: UTF8.self)
                let value =
                    try values[number - 1].map { (value: String) throws(PostgresError) -> String in try quote(value) }
                    ?? "NULL"
                output += value
                copied = end
                afterIdentifier = value.utf8.last.map(Self.continuesIdentifier) ?? false
            } else {
                afterIdentifier = true
            }
            index = end
        }
        output += String(decoding: bytes[copied...], as: UTF8.self)
        return output
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Letters, digits, `_` and (as for identifiers) any non-ASCII byte.
    private static func continuesIdentifier(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
            || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
    }
}
