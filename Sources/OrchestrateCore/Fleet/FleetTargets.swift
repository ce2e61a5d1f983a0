import Foundation
import Postgres

/// Finding a fleet's targets: the `targets` list as written, or the rows of `targets_query` run on `database_url`.
enum FleetTargets {
    /// The fleet's targets, in its order (the list's, or the query's rows' order).
    static func resolve(
        _ environment: EnvironmentConfig, projectRoot: String, interruptions: Interruptions,
        progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> [FleetTarget] {
        guard let fleet = environment.fleet else {
            throw .usage("environment `\(environment.name)` is not a fleet: it has no `targets` or `targets_query`")
        }
        switch fleet.source {
        case .list(let entries):
            return entries.map { entry in
                FleetTarget(name: entry.name, conninfo: entry.url ?? environment.databaseURL, schema: entry.schema)
            }
        case .query(let sql, let line):
            var base = environment
            base.fleet = nil
            let conninfo = try EnvironmentDatabase.conninfo(for: base, projectRoot: projectRoot, progress: progress)
            let connection = try EnvironmentDatabase.connect(
                base, conninfo: conninfo, applicationName: "orchestrate targets_query",
                interruptions: interruptions, progress: progress)
            defer { connection.close() }
            let place = "\(environment.path):\(line): `targets_query`"
            let result: QueryResult
            do throws(PostgresError) {
                // Read-only: the query lists targets, it must not change anything.
                _ = try connection.execute("BEGIN READ ONLY")
                result = try connection.query(sql)
                _ = try connection.execute("COMMIT")
            } catch {
                throw .usage(
                    "\(place) failed on database_url: \(error.summary)",
                    hint: "it must be one read-only SELECT returning the columns name, url and schema")
            }
            let entries = try entries(
                columns: result.columns, rows: result.records.map { record in result.columns.map { record[$0] } },
                place: place)
            try FleetConfig.checkUnique(entries, ledgerSchema: environment.ledgerSchema, path: environment.path)
            return entries.map { entry in
                FleetTarget(name: entry.name, conninfo: entry.url ?? environment.databaseURL, schema: entry.schema)
            }
        }
    }

    /// The targets of `targets_query`'s rows: columns `name` (not null), `url` (null: `database_url`) and `schema`
    /// (null: none). Every bad row is an error naming the row (1-based) and the column, never a URL.
    static func entries(
        columns: [String], rows: [[String?]], place: String
    ) throws(OrchestrateError) -> [TargetEntry] {
        let expected = ["name", "url", "schema"]
        for column in expected where !columns.contains(column) {
            throw .usage(
                "\(place) returns no column `\(column)` (it returns: \(columns.map { "`\($0)`" }.joined(separator: ", ")))",
                hint: "select name, url and schema, with NULL for a URL that is database_url's or a missing schema")
        }
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        guard !rows.isEmpty else {
            throw .usage(
                "\(place) returns no rows: the fleet has no targets",
                hint: "check the query and the table it reads")
        }
        var entries: [TargetEntry] = []
        for (offset, row) in rows.enumerated() {
            let origin = "\(place) row \(offset + 1)"
            func value(_ column: String) -> String? { index[column].flatMap { row[$0] } }
            guard let name = value("name") else {
                throw .usage("\(origin): `name` is NULL", hint: "every target needs a name")
            }
            guard FleetConfig.isValidName(name) else {
                throw .usage("\(origin): the name `\(name.prefix(80))` is not \(FleetConfig.nameRule)")
            }
            let url = value("url")
            if let url {
                if url.hasPrefix("sandbox:") {
                    throw .usage(
                        "\(origin) (`\(name)`): `url` is a sandbox: name, which targets_query does not take",
                        hint: "list sandbox targets in `targets`")
                }
                do { _ = try ConnInfo.parse(ConnInfo.normalized(url)) } catch {
                    throw .usage(
                        "\(origin) (`\(name)`): `url` is not a connection string libpq can parse (its value is not shown): \(error.message)"
                    )
                }
            }
            let schema = value("schema")
            if let schema { try TableReader.checkSchema(schema, place: "\(origin) (`\(name)`)") }
            entries.append(TargetEntry(name: name, url: url, schema: schema, origin: origin))
        }
        return entries
    }
}
