import Foundation
import Postgres
internal import TOMLKit

/// One environment, read from `environments/NAME.toml` (DESIGN §4).
///
/// Every string value has `${VAR}` expanded already. Unknown keys and wrong types are errors naming the file, the
/// key and its line.
public struct EnvironmentConfig: Sendable, Hashable {
    /// The environment's name: its file name without `.toml`.
    public var name: String
    /// The file it was read from, relative to the project root for display.
    public var path: String
    /// The libpq URI or key=value conninfo, or `sandbox:NAME`. May contain a password: never print it.
    public var databaseURL: String
    /// The stage this one takes revisions from; nil for a first stage.
    public var promotesFrom: String?
    /// Revisions applied here must have been added on this branch.
    public var branch: String?
    /// Destructive or production work needs `--yes` (or a confirmation on a terminal).
    public var isProtected: Bool
    /// How long a second runner waits for the environment lock.
    public var lockTimeout: TimeSpan
    /// PostgreSQL `lock_timeout` while revisions run.
    public var ddlLockTimeout: TimeSpan
    /// How often a revision that hit `ddl_lock_timeout` is retried.
    public var ddlLockRetries: Int
    /// PostgreSQL `statement_timeout` while revisions run (0: none).
    public var statementTimeout: TimeSpan
    /// How often a transient connection failure is retried.
    public var connectRetries: Int
    /// The schema holding the ledger.
    public var ledgerSchema: String
    /// `"revision"` (a transaction per revision) or `"all"` (one for the whole run).
    public var transactionMode: TransactionMode
    /// The variables `database_url` is written with (`${DEV_DATABASE_URL}` gives `["DEV_DATABASE_URL"]`), so that a
    /// connection error points at the variable to fix rather than at the file, which only names it.
    public var databaseURLVariables: [String] = []
    /// The fleet keys (`targets` or `targets_query`, `parallel`, `canary`, `on_error`), nil for one database
    /// (DESIGN §7). A fleet with `targets` may have no `database_url`: `databaseURL` is then empty, and only the
    /// fleet code connects (`EnvironmentDatabase.conninfo` refuses a fleet).
    public var fleet: FleetConfig?
    /// `session_settings`: PostgreSQL settings applied to every session of the environment, in the file's order.
    public var sessionSettings: [SessionSetting] = []
    /// On the configuration of one target of a fleet (`forTarget`): the target's name.
    public var targetName: String?
    /// One connection for the whole run (the lock, the ledger and the revisions), as fleet targets run, so that a
    /// fleet holds at most `parallel` + 1 connections.
    var singleConnection = false

    /// Whether this is a fleet (`targets` or `targets_query`).
    public var isFleet: Bool { fleet != nil }

    /// Where the connection string comes from, for hints: `DEV_DATABASE_URL (used by database_url in
    /// environments/dev.toml)` or `database_url in environments/dev.toml`.
    public var databaseURLOrigin: String {
        let key = "database_url in \(path)"
        guard !databaseURLVariables.isEmpty else { return key }
        return databaseURLVariables.joined(separator: ", ") + " (used by \(key))"
    }

    /// How revisions are grouped into transactions.
    public enum TransactionMode: String, Sendable, Hashable, CaseIterable {
        /// One transaction per revision (the default).
        case revision
        /// All revisions of a run in one transaction.
        case all
    }

    /// The keys a file may contain, with their expected TOML type.
    static let knownKeys: [(key: String, type: String)] = [
        ("database_url", "string"), ("promotes_from", "string"), ("branch", "string"), ("protected", "boolean"),
        ("lock_timeout", "duration string"), ("ddl_lock_timeout", "duration string"),
        ("ddl_lock_retries", "integer"), ("statement_timeout", "duration string"), ("connect_retries", "integer"),
        ("ledger_schema", "string"), ("transaction", "string"), ("targets", "array"), ("targets_query", "string"),
        ("parallel", "integer"), ("canary", "integer"), ("on_error", "string"), ("session_settings", "table"),
    ]

    /// The longest duration a key accepts: 24 hours (PostgreSQL's own limit for its timeouts is about 24.8 days).
    public static let maximumDuration = TimeSpan(milliseconds: 86_400_000)
    /// The most retries `connect_retries` and `ddl_lock_retries` accept (the backoff tops out at 8 s a retry).
    public static let maximumRetries = 100

    /// The `promotes_from` of a file that does not load as a whole (a variable not set, an unknown key): `.some(nil)`
    /// for a first stage, nil when even that cannot be read (the TOML does not parse, or the key is not a string).
    static func salvagedSource(text: String, path: String, expander: VariableExpander) -> String?? {
        guard let table = try? TOMLTable(string: text) else { return nil }
        let reader = TableReader(table: table, path: path, text: text, expander: expander)
        do {
            let source = try reader.string("promotes_from")
            return .some(source.flatMap { $0.isEmpty ? nil : $0 })
        } catch {
            return nil
        }
    }

    /// The names of the `${VAR}` and `${VAR:-default}` references in `text`, in order.
    static func variables(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(where: { $0 == "}" || $0 == ":" }) else { break }
            let name = String(rest[..<end])
            if !name.isEmpty, !names.contains(name) { names.append(name) }
            rest = rest[end...]
        }
        return names
    }

    /// Parses one environment file's text.
    ///
    /// Values are never quoted in errors (a password pasted into the wrong key must not be printed): errors name the
    /// file, the line and the key. `database_url` is checked with libpq's parser here, and SQLAlchemy's
    /// `postgresql+DRIVER://` is kept as written (libpq is given it without `+DRIVER`; see `ConnInfo.normalized`).
    public static func parse(
        name: String, path: String, text: String, expander: VariableExpander
    ) throws(OrchestrateError) -> EnvironmentConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .usage(
                "\(path):\(error.source.begin.line): \(error.description)",
                hint: "fix the TOML syntax (see https://toml.io)")
        } catch {
            throw .usage("\(path): not valid TOML: \(error)")
        }
        let reader = TableReader(table: table, path: path, text: text, expander: expander)
        try reader.rejectUnknownKeys(known: knownKeys.map(\.key))

        let givenURL = try reader.string("database_url")
        if let givenURL { try reader.checkConnectionString(givenURL, key: "database_url") }
        let fleet = try reader.fleet(databaseURL: givenURL)
        guard let url = givenURL ?? (fleet != nil ? "" : nil) else {
            throw .usage(
                "\(path): missing required key `database_url`",
                hint: "add database_url = \"postgresql://…\" or \"sandbox:\(name)\" (or `targets` for a fleet)")
        }
        let schema = try reader.string("ledger_schema") ?? "orchestrate"
        guard !schema.isEmpty, schema.utf8.count <= 63 else {
            throw .usage("\(path):\(reader.line(of: "ledger_schema")): `ledger_schema` must be 1 to 63 bytes long")
        }
        let modeText = try reader.string("transaction") ?? "revision"
        guard let mode = TransactionMode(rawValue: modeText) else {
            throw .usage("\(path):\(reader.line(of: "transaction")): `transaction` must be \"revision\" or \"all\"")
        }
        var config = EnvironmentConfig(
            name: name,
            path: path,
            databaseURL: url,
            promotesFrom: try reader.string("promotes_from").flatMap { $0.isEmpty ? nil : $0 },
            branch: try reader.string("branch").flatMap { $0.isEmpty ? nil : $0 },
            isProtected: try reader.bool("protected") ?? false,
            lockTimeout: try reader.duration("lock_timeout") ?? .seconds(60),
            ddlLockTimeout: try reader.duration("ddl_lock_timeout") ?? .seconds(5),
            ddlLockRetries: try reader.count("ddl_lock_retries", maximum: maximumRetries) ?? 3,
            statementTimeout: try reader.duration("statement_timeout") ?? .seconds(0),
            connectRetries: try reader.count("connect_retries", maximum: maximumRetries) ?? 3,
            ledgerSchema: schema,
            transactionMode: mode
        )
        config.fleet = fleet
        config.sessionSettings = try reader.sessionSettings()
        if let fleet, case .list(let entries) = fleet.source {
            try FleetConfig.checkUnique(entries, ledgerSchema: schema, path: path)
        }
        if config.promotesFrom == name {
            throw .usage(
                "\(path):\(reader.line(of: "promotes_from")): environment `\(name)` cannot promote from itself")
        }
        config.databaseURLVariables = Self.variables(in: table["database_url"]?.string ?? "")
        return config
    }
}

/// Typed, strict access to a parsed TOML table, with errors that name the file, key and line.
struct TableReader {
    let table: TOMLTable
    let path: String
    let text: String
    let expander: VariableExpander

    /// The 1-based line where `key` is assigned, found in the text (TOMLKit does not keep positions of values).
    func line(of key: String) -> Int {
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where line.hasPrefix(candidate) {
                let rest = line.dropFirst(candidate.count).drop(while: { $0 == " " || $0 == "\t" })
                if rest.hasPrefix("=") { return offset + 1 }
            }
        }
        return 1
    }

    func rejectUnknownKeys(known: [String]) throws(OrchestrateError) {
        for key in table.keys.sorted() where !known.contains(key) {
            let suggestion = known.min(by: { editDistance($0, key) < editDistance($1, key) })
            var hint = "known keys: \(known.joined(separator: ", "))"
            if let suggestion, editDistance(suggestion, key) <= 3 { hint = "did you mean `\(suggestion)`? " + hint }
            if table[key]?.table != nil {
                throw .usage("\(path): unknown table [\(key)]", hint: hint)
            }
            throw .usage("\(path):\(line(of: key)): unknown key `\(key)`", hint: hint)
        }
    }

    func wrongType(_ key: String, expected: String) -> OrchestrateError {
        let actual = table[key].map { "\($0.type)" } ?? "nothing"
        return .usage("\(path):\(line(of: key)): `\(key)` must be a \(expected), not a \(actual)")
    }

    func string(_ key: String) throws(OrchestrateError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw wrongType(key, expected: "string") }
        return try expander.expand(text, file: "\(path):\(line(of: key))", key: key)
    }

    func bool(_ key: String) throws(OrchestrateError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw wrongType(key, expected: "boolean (true or false)") }
        return flag
    }

    /// A whole number from 0 to `maximum`.
    func count(_ key: String, maximum: Int) throws(OrchestrateError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else { throw wrongType(key, expected: "whole number from 0 to \(maximum)") }
        guard (0...maximum).contains(number) else {
            throw .usage(
                "\(path):\(line(of: key)): `\(key)` is out of range: it must be a whole number from 0 to \(maximum)",
                hint: "set \(key) to at most \(maximum) in \(path)")
        }
        return number
    }

    /// A duration string, or a whole number of seconds, from 0 to `EnvironmentConfig.maximumDuration`.
    func duration(_ key: String) throws(OrchestrateError) -> TimeSpan? {
        guard let value = table[key] else { return nil }
        let maximum = EnvironmentConfig.maximumDuration
        let outOfRange = OrchestrateError.usage(
            "\(path):\(line(of: key)): `\(key)` is out of range: it must be from 0 to \(maximum) (\(maximum.milliseconds / 1000) seconds)",
            hint: "set \(key) to a duration such as \"5s\" or \"10m\" in \(path)")
        if let seconds = value.int {
            guard (0...(maximum.milliseconds / 1000)).contains(seconds) else { throw outOfRange }
            return .seconds(seconds)
        }
        guard let text = value.string else { throw wrongType(key, expected: "duration such as \"5s\"") }
        let expanded = try expander.expand(text, file: "\(path):\(line(of: key))", key: key)
        // The value is not quoted: it could be a password pasted into the wrong key.
        guard let span = TimeSpan(parsing: expanded) else {
            if TimeSpan.isWellFormed(expanded) { throw outOfRange }
            throw .usage(
                "\(path):\(line(of: key)): `\(key)` is not a duration",
                hint:
                    "write it like \"500ms\", \"5s\", \"1.5s\", \"2m\" or \"1h\" (digits, an optional fraction, then a unit; no sign or exponent)"
            )
        }
        guard span.milliseconds <= maximum.milliseconds else { throw outOfRange }
        return span
    }

    /// Refuses a `database_url` libpq cannot parse (or would take for a database name although it looks like a
    /// URL), naming the file, line and key, never the value.
    func checkConnectionString(_ url: String, key: String, at place: String? = nil) throws(OrchestrateError) {
        let where_ = place ?? "\(path):\(line(of: key)): `\(key)`"
        if url.hasPrefix("sandbox:") {
            let name = url.dropFirst("sandbox:".count)
            guard !name.isEmpty, name.utf8.count <= 63 else {
                throw .usage("\(where_): expected sandbox:NAME with a database name of 1 to 63 bytes")
            }
            return
        }
        do {
            _ = try ConnInfo.parse(url)
        } catch {
            throw .usage(
                "\(where_) is not a connection string libpq can parse (its value is not shown): \(error.message)",
                hint:
                    "use a URI (postgresql://user@host:5432/db?sslmode=require, or SQLAlchemy's postgresql+DRIVER://…), key=value pairs (host=… dbname=…), or sandbox:NAME"
            )
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
