import Migrations
import Postgres

/// Another migration tool's own table in a database, as `baseline --from` and the foreign-ledger notice read it.
public struct ForeignLedger: Sendable, Codable, Equatable {
    /// The tool whose table it is.
    public var tool: ForeignTool
    /// The table, as the search path names it (`alembic_version`, `flyway_schema_history`, ...).
    public var table: String
    /// The versions it records as applied, as the tool spells them, oldest first; for Alembic its heads, for
    /// golang-migrate its one current version.
    public var versions: [String]
    /// Why it cannot be trusted (a golang-migrate dirty version, a failed Flyway row); nil when it can.
    public var problem: String?

    /// The tool's name as its users write it.
    public var toolName: String {
        switch tool {
        case .alembic: return "Alembic"
        case .flyway: return "Flyway"
        case .dbmate, .golangMigrate, .goose: return tool.rawValue
        }
    }

    /// `Alembic at a7f3c9d21b04`, `Flyway at 3 (3 versions)`.
    public var position: String {
        guard let last = versions.last else { return "\(toolName) (no version recorded)" }
        switch tool {
        case .alembic, .golangMigrate: return "\(toolName) at \(versions.joined(separator: ", "))"
        default: return "\(toolName) at \(last) (\(versions.count) version\(versions.count == 1 ? "" : "s"))"
        }
    }

    /// What status, doctor and the writing commands say about a database this tool manages and orchestrate does not
    /// yet: `managed by Alembic at a7f3c9d21b04; run `orchestrate baseline dev --from alembic --reason ...``.
    public func notice(environment: String) -> String {
        var text =
            "managed by \(position) (table \(table)), not by orchestrate yet; run `orchestrate baseline \(environment) --from \(tool.rawValue) --reason ...`"
        if let problem { text += " once this is settled: \(problem)" }
        return text
    }
}

/// Reading other tools' tables and mapping their versions to the revision ids `orchestrate import` wrote.
enum ForeignLedgers {
    /// Each tool's table.
    static let tables: [(table: String, tools: [ForeignTool])] = [
        ("alembic_version", [.alembic]), ("flyway_schema_history", [.flyway]),
        ("schema_migrations", [.dbmate, .golangMigrate]), ("goose_db_version", [.goose]),
    ]

    /// The tool tables on `connection`'s search path that hold rows (`only`: that tool's table alone, even empty).
    /// `schema_migrations` is golang-migrate's when it has a `dirty` column (or `only` says so), dbmate's otherwise.
    static func read(on connection: Connection, only: ForeignTool? = nil) throws(PostgresError) -> [ForeignLedger] {
        var found: [ForeignLedger] = []
        for entry in tables where only.map(entry.tools.contains) ?? true {
            guard let table = try connection.query("SELECT to_regclass($1)::text AS t", [.text(entry.table)])[0, "t"]
            else {
                continue
            }
            var ledger: ForeignLedger
            switch entry.table {
            case "alembic_version":
                let rows = try connection.query("SELECT version_num FROM \(table) ORDER BY version_num").records
                ledger = ForeignLedger(tool: .alembic, table: table, versions: rows.compactMap { $0["version_num"] })
            case "flyway_schema_history":
                let rows = try connection.query(
                    """
                    SELECT version, script, success FROM \(table) WHERE version IS NOT NULL ORDER BY installed_rank
                    """
                ).records
                ledger = ForeignLedger(
                    tool: .flyway, table: table,
                    versions: rows.filter { $0.boolean("success") == true }.compactMap { $0["version"] })
                if let failed = rows.first(where: { $0.boolean("success") == false }) {
                    ledger.problem =
                        "\(table) records a failed migration, version \(failed["version"] ?? "?") (\(failed["script"] ?? "?")): the database may hold part of it; finish or undo it by hand and run `flyway repair` first"
                }
            case "schema_migrations":
                let dirty =
                    try connection.query(
                        """
                        SELECT count(*) AS n FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'dirty' AND NOT attisdropped
                        """, [.text(entry.table)])[0, "n"] != "0"
                if dirty || only == .golangMigrate {
                    let rows = try connection.query(
                        "SELECT version::text AS version\(dirty ? ", dirty" : "") FROM \(table)"
                    ).records
                    ledger = ForeignLedger(
                        tool: .golangMigrate, table: table, versions: rows.compactMap { $0["version"] })
                    if let row = rows.first(where: { $0.boolean("dirty") == true }) {
                        ledger.problem =
                            "\(table) is dirty at version \(row["version"] ?? "?"): golang-migrate stopped in the middle of it; fix the database and run `migrate force VERSION` first"
                    }
                } else {
                    let rows = try connection.query("SELECT version::text AS version FROM \(table)").records
                    let versions = rows.compactMap { $0["version"] }
                    ledger = ForeignLedger(
                        tool: .dbmate, table: table,
                        versions: versions.sorted { LinearImport.precedes([$0], [$1]) })
                }
            default:
                let rows = try connection.query(
                    "SELECT version_id::text AS version, is_applied FROM \(table) ORDER BY id"
                ).records
                var latest: [String: Bool] = [:]
                for row in rows {
                    if let version = row["version"] { latest[version] = row.boolean("is_applied") ?? false }
                }
                let versions = latest.filter { $0.value && $0.key != "0" }.map(\.key)
                ledger = ForeignLedger(
                    tool: .goose, table: table, versions: versions.sorted { LinearImport.precedes([$0], [$1]) })
            }
            if only != nil || !ledger.versions.isEmpty || ledger.problem != nil { found.append(ledger) }
        }
        return found
    }

    /// The other tool managing a database whose orchestrate ledger records no revision (`recorded` is its row count),
    /// if any: its first table with rows.
    static func unadopted(on connection: Connection, recorded: Int) throws(PostgresError) -> ForeignLedger? {
        guard recorded == 0 else { return nil }
        return try read(on: connection).first
    }

    /// The revisions `ledger` records as applied, by the ids `orchestrate import` gave them: Alembic's heads and
    /// golang-migrate's current version with their ancestors; the other tools' versions one by one, which must be
    /// closed under parents (a version applied out of order, with an older one missing, is refused by name).
    static func applied(
        _ ledger: ForeignLedger, graph: RevisionGraph,
        environment: String
    ) throws(OrchestrateError) -> Set<String> {
        if let problem = ledger.problem {
            throw .policy("environment `\(environment)`: \(problem); nothing was recorded")
        }
        guard !ledger.versions.isEmpty else {
            throw .usage(
                "environment `\(environment)`: \(ledger.table) records no applied version: there is nothing to baseline",
                hint: "apply the revisions with `orchestrate upgrade \(environment)` instead")
        }
        var byVersion: [[String]: String] = [:]
        if ledger.tool != .alembic {
            for id in graph.topologicalOrder {
                if let version = LinearImport.version(ofStem: id, tool: ledger.tool) {
                    byVersion[LinearImport.normalized(version)] = byVersion[LinearImport.normalized(version)] ?? id
                }
            }
        }
        var ids: [String] = []
        var unknown: [String] = []
        for version in ledger.versions {
            let id: String?
            if ledger.tool == .alembic {
                let candidate = ForeignSQL.sanitized(version)
                id = graph.contains(candidate) ? candidate : nil
            } else {
                let parts = version.split(separator: ".", omittingEmptySubsequences: false)
                    .flatMap { $0.split(separator: "_", omittingEmptySubsequences: false) }.map(String.init)
                id = byVersion[LinearImport.normalized(parts)]
            }
            if let id { ids.append(id) } else { unknown.append(version) }
        }
        if !unknown.isEmpty {
            throw .usage(
                "environment `\(environment)`: \(ledger.table) records \(unknown.count == 1 ? "version" : "versions") \(unknown.joined(separator: ", ")) with no revision in migrations/; nothing was recorded",
                hint:
                    "import the \(ledger.toolName) project again (`orchestrate import \(ledger.tool.rawValue)`) with the revisions this database ran"
            )
        }
        switch ledger.tool {
        case .alembic, .golangMigrate:
            return ids.reduce(into: Set(ids)) { $0.formUnion(graph.ancestors(of: $1)) }
        case .flyway, .dbmate, .goose:
            let set = Set(ids)
            let gaps = graph.unclosedMembers(of: set)
            guard gaps.isEmpty else {
                let lines = gaps.map { "\($0.revision) is applied but its parent \($0.missingParent) is not" }
                throw .policy(
                    "environment `\(environment)`: \(ledger.table) is not a prefix of the revision chain (applied out of order): \(lines.joined(separator: "; ")); nothing was recorded",
                    hint:
                        "apply the missing revisions with \(ledger.toolName) first, or baseline an earlier revision with --to and apply the rest with orchestrate"
                )
            }
            return set
        }
    }
}
