internal import CLibPQ

/// Connection strings, parsed by libpq itself (PQconninfoParse), never by hand.
///
/// Both forms libpq accepts work: URIs (`postgresql://user:pw@host:5432/db?sslmode=require`, percent-encoded)
/// and key=value strings (`host=db.example port=5432 password='it''s'`). As in `PQconnectdbParams`, a string that
/// is neither (no `=` and no `postgresql://` or `postgres://` prefix) is a plain database name, unless it holds a
/// `:`, `@` or `/`: then it is a mistyped URL (`postgresq://…`, `user:pw@host/db`) that may hold a password, and it
/// is refused instead of being sent to the server (which would log it) as a database name.
///
/// One rewrite is made, everywhere a string is parsed or used: SQLAlchemy's `postgresql+DRIVER://` (and
/// `postgres+DRIVER://`) loses its `+DRIVER` part, so that one `DATABASE_URL` serves an application and orchestrate.
public enum ConnInfo {
    /// The non-empty keyword/value pairs libpq parses out of `conninfo` (URI or key=value), in libpq's keyword
    /// order, with URI percent-encoding decoded. Defaults from the environment are not added.
    ///
    /// Throws `.invalidConnectionString` when libpq rejects the string; the error's message never repeats a
    /// fragment of the string that could be a password.
    public static func parse(_ conninfo: String) throws(PostgresError) -> [(keyword: String, value: String)] {
        try options(conninfo).compactMap { option in
            guard let value = option.value, !value.isEmpty else { return nil }
            return (option.keyword, value)
        }
    }

    /// A display form without secrets, such as `host=db.example port=5432 dbname=app user=deploy sslmode=require`.
    ///
    /// `host`, `hostaddr`, `port`, `dbname`, `user` and `sslmode` come first, then the other parameters in libpq's order;
    /// `password`, `sslpassword` and any other keyword libpq marks as secret are removed. A string libpq cannot
    /// parse gives `<invalid connection string>`.
    public static func redacted(_ conninfo: String) -> String {
        guard let all = try? options(conninfo) else {
            return "<invalid connection string>"
        }
        let visible = all.filter { !$0.isSecret && !($0.value ?? "").isEmpty }
        let leading = ["host", "hostaddr", "port", "dbname", "user", "sslmode"]
        let ordered =
            leading.compactMap { name in visible.first { $0.keyword == name } }
            + visible.filter { !leading.contains($0.keyword) }
        return format(ordered.map { ($0.keyword, $0.value ?? "") })
    }

    /// Builds a key=value connection string from pairs, quoting a value when it is empty or contains whitespace,
    /// a quote or a backslash (`'…'`, with `\\` and `\'` escapes), so that `parse(format(pairs))` gives the pairs
    /// back. The keywords are written as given.
    public static func format(_ pairs: [(keyword: String, value: String)]) -> String {
        pairs.map { "\($0.keyword)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// `conninfo` as libpq is given it: SQLAlchemy's `postgresql+DRIVER://` and `postgres+DRIVER://` schemes lose
    /// their `+DRIVER` part (`postgresql+psycopg2://u@h/db` becomes `postgresql://u@h/db`); anything else is
    /// returned as it is.
    public static func normalized(_ conninfo: String) -> String {
        for scheme in ["postgresql+", "postgres+"] where conninfo.hasPrefix(scheme) {
            let rest = conninfo.utf8.dropFirst(scheme.utf8.count)
            guard let separator = rest.firstRange(of: "://".utf8) else { return conninfo }
            let driver = rest[..<separator.lowerBound]
            let isDriverName =
                !driver.isEmpty
                && driver.allSatisfy { byte in
                    byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                }
            guard isDriverName else { return conninfo }
            return String(scheme.dropLast()) + String(Substring(rest[separator.lowerBound...]))
        }
        return conninfo
    }

    // MARK: - Internals

    /// True when libpq treats `conninfo` as a connection string rather than a database name
    /// (libpq's recognized_connection_string: a URI prefix or an `=`).
    static func isConnectionString(_ conninfo: String) -> Bool {
        conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") || conninfo.contains("=")
    }

    /// True when `conninfo`, which libpq would take as a plain database name, looks like a URL or credentials
    /// instead (a `:`, `@` or `/`): a scheme libpq does not know, a typo in the scheme, or `user:pw@host/db`.
    static func isMistakenURL(_ conninfo: String) -> Bool {
        conninfo.utf8.contains { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "/") }
    }

    /// Every option PQconninfoParse knows, set or not, with its secrecy flag.
    static func options(_ conninfo: String) throws(PostgresError) -> [LibPQ.Option] {
        try LibPQ.requireNoNUL(conninfo, "the connection string")
        let conninfo = normalized(conninfo)
        guard isConnectionString(conninfo) else {
            if isMistakenURL(conninfo) {
                throw PostgresError(
                    kind: .invalidConnectionString,
                    message: "libpq cannot parse it as a URI (it is not shown: it may hold a password); a URI starts "
                        + "with postgresql:// or postgres:// (or SQLAlchemy's postgresql+DRIVER://), and key=value "
                        + "pairs look like host=db.example dbname=app")
            }
            return conninfo.isEmpty ? [] : [LibPQ.Option(keyword: "dbname", value: conninfo, isSecret: false)]
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage {
                PQfreemem(errorMessage)
            }
            throw PostgresError(
                kind: .invalidConnectionString, message: sanitizedParseError(message, conninfo: conninfo))
        }
        defer { PQconninfoFree(parsed) }
        let options = LibPQ.options(parsed)
        if let reason = misreadCredentials(conninfo, options) {
            throw PostgresError(
                kind: .invalidConnectionString,
                message: "\(reason) (it is not shown: it may hold a password); a URI looks like "
                    + "postgresql://user:password@host:5432/db")
        }
        return options
    }

    /// Why libpq parsed `conninfo` but would read part of its credentials as something else, shown in errors and
    /// sent to the server: a doubled scheme (`postgresql://postgresql://u:pw@h/db` makes `/u:pw@h/db` the database),
    /// an `@` after the host, or a port that is not a number (`postgresql://u:pw` without its `@host`).
    static func misreadCredentials(_ conninfo: String, _ options: [LibPQ.Option]) -> String? {
        if let port = options.first(where: { $0.keyword == "port" })?.value,
            !port.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ",") })
        {
            return "its port is not a number"
        }
        guard conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://"),
            let scheme = conninfo.firstRange(of: "://")
        else { return nil }
        let rest = conninfo[scheme.upperBound...]
        if rest.contains("://") {
            return "it holds a second `://`"
        }
        let afterHost = rest.drop { $0 != "/" && $0 != "?" }
        if afterHost.prefix(while: { $0 != "?" }).contains("@") {
            return "it holds an `@` after the host, so libpq would read the credentials as the database name"
        }
        return nil
    }

    /// `value` as libpq's key=value syntax needs it.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0.isWhitespace || $0 == "'" || $0 == "\\" }
        guard needsQuotes else { return value }
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" {
                quoted.append("\\")
            }
            quoted.append(character)
        }
        return quoted + "'"
    }

    /// libpq's parse error with every quoted fragment of the input hidden unless it is plainly a keyword or a
    /// separator, because libpq quotes pieces of the input (which may be a password) in its messages.
    ///
    /// When the message cannot be split into template text and quoted fragments with certainty, a generic
    /// message replaces it.
    static func sanitizedParseError(_ message: String, conninfo: String) -> String {
        let generic =
            "libpq could not parse it (its message is withheld because it could quote a password); "
            + "check the quoting, the percent-encoding and the parameter names"
        var text = message.trimmed
        if !conninfo.isEmpty {
            text = text.replacing(conninfo, with: "<the connection string>")
        }
        let parts = text.split(separator: "\"", omittingEmptySubsequences: false)
        guard parts.count % 2 == 1 else { return generic }
        var result = ""
        for (index, part) in parts.enumerated() {
            if index % 2 == 0 {
                // Template text. If it is also a piece of the input, the split is misaligned: give up.
                let core = part.trimmed
                let isPunctuation = core.count <= 2 && core.allSatisfy { !$0.isLetter && !$0.isNumber }
                if !isPunctuation && conninfo.contains(core) {
                    return generic
                }
                result += part
            } else {
                let safe =
                    ["=", ":", "/", "]", "<the connection string>"].contains(String(part))
                    || isKeyword(part, in: conninfo)
                result += "\"" + (safe ? String(part) : "…") + "\""
            }
        }
        return result
    }

    /// True when `token` looks like a parameter name and appears in `conninfo` where a keyword goes
    /// (at the start, after whitespace, `?` or `&`, and followed by `=`).
    private static func isKeyword(_ token: Substring, in conninfo: String) -> Bool {
        let tokenBytes = Array(token.utf8)
        guard let first = tokenBytes.first, tokenBytes.count <= 64,
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first | 0x20),
            tokenBytes.allSatisfy({ byte in
                byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
            })
        else { return false }
        let bytes = Array(conninfo.utf8)
        let separators: [UInt8] = [
            UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
            UInt8(ascii: "?"), UInt8(ascii: "&"),
        ]
        var start = 0
        while start + tokenBytes.count <= bytes.count {
            defer { start += 1 }
            guard bytes[start..<(start + tokenBytes.count)].elementsEqual(tokenBytes),
                start == 0 || separators.contains(bytes[start - 1])
            else { continue }
            var next = start + tokenBytes.count
            while next < bytes.count, bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: "\t") {
                next += 1
            }
            if next < bytes.count, bytes[next] == UInt8(ascii: "=") {
                return true
            }
        }
        return false
    }
}
