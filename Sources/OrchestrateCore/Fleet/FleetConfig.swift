import Foundation
import Postgres

/// The fleet keys of an environment file (DESIGN §7): where the targets come from, how many run at a time, the
/// canaries, and what a failure does to the rest.
public struct FleetConfig: Sendable, Hashable {
    /// Where the targets come from.
    public enum Source: Sendable, Hashable {
        /// `targets = [...]`, in the file's order.
        case list([TargetEntry])
        /// `targets_query = "SELECT name, url, schema …"`, run on `database_url`; `line` is the key's line.
        case query(String, line: Int)
    }

    /// What a failed target does to the targets not started yet.
    public enum OnError: String, Sendable, Hashable, CaseIterable {
        /// No new target starts after a failure (the default); running ones finish.
        case stop
        /// The other targets go on.
        case `continue`
    }

    /// Where the targets come from.
    public var source: Source
    /// How many targets run at a time (default 4).
    public var parallel: Int
    /// How many targets, the first ones in the fleet's order, run before all others (default 0).
    public var canary: Int
    /// What a failure does to the targets not started yet.
    public var onError: OnError

    /// The largest `parallel` accepted: each running target holds one connection.
    public static let maximumParallel = 64
    /// The largest `canary` accepted.
    public static let maximumCanary = 10_000
}

/// One entry of `targets`, as written: a URL (its name derived from the database name) or a
/// `{ name, url, schema }` table.
public struct TargetEntry: Sendable, Hashable {
    /// The target's name (given, or derived from the URL's database name).
    public var name: String
    /// The connection string; nil means `database_url`. A secret: never print it.
    var url: String?
    /// The schema of a schema-per-tenant target, nil for a whole database.
    public var schema: String?
    /// Where it was written: "environments/prod.toml:4: `targets` entry 3" or "`targets_query` row 3".
    public var origin: String
}

/// One of `session_settings`: a PostgreSQL setting applied to every session of the environment.
public struct SessionSetting: Sendable, Hashable {
    /// The setting's name, checked to be a (possibly dotted) identifier.
    public var name: String
    /// Its value, passed to `set_config` as a parameter (never spliced into SQL).
    public var value: String
}

extension FleetConfig {
    /// Whether `name` is a valid target name: 1 to 63 bytes of letters, digits, `_`, `-` and `.`, starting with a
    /// letter, digit or `_` (it is typed in `--target` and shown in every summary).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 63 else { return false }
        guard first.properties.isAlphabetic || ("0"..."9").contains(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-.".unicodeScalars.contains(scalar)
        }
    }

    static let nameRule = "1 to 63 bytes of letters, digits, `_`, `-` and `.`, not starting with `-` or `.`"

    /// The name a URL-only entry gets: the database name of the URL (`postgresql://h/tenant_7` gives `tenant_7`,
    /// `sandbox:tenant_7` too); nil when the URL names no database or the name is not a valid target name.
    static func derivedName(url: String) -> String? {
        if url.hasPrefix("sandbox:") {
            let name = String(url.dropFirst("sandbox:".count))
            return isValidName(name) ? name : nil
        }
        guard let pairs = try? ConnInfo.parse(ConnInfo.normalized(url)),
            let database = pairs.last(where: { $0.keyword == "dbname" })?.value, isValidName(database)
        else { return nil }
        return database
    }

    /// Whether `name` is a valid setting name: identifiers joined by dots (`work_mem`,
    /// `citus.multi_shard_modify_mode`), at most 63 bytes each.
    static func isValidSettingName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.count <= 3
            && parts.allSatisfy { part in
                guard let first = part.unicodeScalars.first, part.utf8.count <= 63 else { return false }
                return (first.isASCII && (first.properties.isAlphabetic || first == "_"))
                    && part.unicodeScalars.allSatisfy {
                        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
                    }
            }
    }

    /// Settings `session_settings` refuses, with the way out: orchestrate sets them itself.
    static let reservedSettings: [String: String] = [
        "lock_timeout": "use `ddl_lock_timeout` (while revisions run) and `lock_timeout` (the environment lock)",
        "statement_timeout": "use the `statement_timeout` key",
        "application_name": "orchestrate names its sessions itself (a later run finds an orphaned one by it)",
        "transaction_read_only": "a writing run needs read-write sessions",
        "default_transaction_read_only": "a writing run needs read-write sessions",
        "idle_in_transaction_session_timeout": "it would end a run between two statements of a revision",
        "session_authorization": "connect as the right user instead (the user in the URL)",
    ]
}

extension FleetConfig {
    /// The ledger schema of a schema target: `LEDGER_SCHEMA` + `_` + the tenant's schema (`orchestrate_tenant_7`),
    /// so that each tenant has a ledger, and a lock, of its own next to its schema, never inside it. A name longer
    /// than PostgreSQL's 63 bytes is cut on a character boundary and ends with `_` and 8 hex digits of a stable hash
    /// of the whole name, which keeps it unique.
    public static func ledgerSchema(base: String, tenantSchema: String) -> String {
        let full = base + "_" + tenantSchema
        guard full.utf8.count > 63 else { return full }
        let suffix = "_" + String(format: "%08x", UInt32(truncatingIfNeeded: stableHash(full)))
        var prefix = ""
        for character in full {
            if prefix.utf8.count + String(character).utf8.count + suffix.utf8.count > 63 { break }
            prefix.append(character)
        }
        return prefix + suffix
    }
}
