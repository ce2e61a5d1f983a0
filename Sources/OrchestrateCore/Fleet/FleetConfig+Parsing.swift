import Foundation
internal import TOMLKit

/// Reading the fleet keys and `session_settings` of an environment file. Every error names the file, the line, the
/// key and the entry, never a value (a URL may hold a password).
extension TableReader {
    /// `targets` or `targets_query` with `parallel`, `canary` and `on_error`; nil for one database.
    func fleet(databaseURL: String?) throws(OrchestrateError) -> FleetConfig? {
        let hasList = table["targets"] != nil
        let hasQuery = table["targets_query"] != nil
        if hasList && hasQuery {
            throw .usage(
                "\(path):\(line(of: "targets_query")): `targets` and `targets_query` are both set; a fleet's targets come from one of them",
                hint: "keep `targets` (a fixed list) or `targets_query` (SQL run on database_url), not both")
        }
        guard hasList || hasQuery else {
            for key in ["parallel", "canary", "on_error"] where table[key] != nil {
                throw .usage(
                    "\(path):\(line(of: key)): `\(key)` is for fleets, and this environment has no `targets` or `targets_query`",
                    hint:
                        "add `targets = [...]` or `targets_query = \"SELECT name, url, schema FROM …\"`, or remove `\(key)`"
                )
            }
            return nil
        }
        let source: FleetConfig.Source
        if hasQuery {
            guard let query = try string("targets_query"),
                !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else {
                throw .usage(
                    "\(path):\(line(of: "targets_query")): `targets_query` is empty",
                    hint: "write the SQL that lists the targets: SELECT name, url, schema FROM …")
            }
            guard databaseURL != nil else {
                throw .usage(
                    "\(path):\(line(of: "targets_query")): `targets_query` runs on `database_url`, which is not set",
                    hint: "add database_url = \"postgresql://…\" (the database that holds the list of targets)")
            }
            source = .query(query, line: line(of: "targets_query"))
        } else {
            source = .list(try targetEntries(databaseURL: databaseURL))
        }
        var parallel = 4
        if let value = table["parallel"] {
            let maximum = FleetConfig.maximumParallel
            guard let number = value.int, (1...maximum).contains(number) else {
                throw .usage(
                    "\(path):\(line(of: "parallel")): `parallel` must be a whole number from 1 to \(maximum) (targets run at a time, one connection each)",
                    hint: "set parallel to at most \(maximum) in \(path), and within the server's max_connections")
            }
            parallel = number
        }
        let onErrorText = try string("on_error") ?? "stop"
        guard let onError = FleetConfig.OnError(rawValue: onErrorText) else {
            throw .usage(
                "\(path):\(line(of: "on_error")): `on_error` must be \"stop\" or \"continue\"",
                hint: "\"stop\" starts no new target after a failure; \"continue\" runs every target")
        }
        return FleetConfig(
            source: source, parallel: parallel,
            canary: try count("canary", maximum: FleetConfig.maximumCanary) ?? 0, onError: onError)
    }

    /// The entries of `targets`: strings (URLs) or `{ name, url, schema }` tables.
    private func targetEntries(databaseURL: String?) throws(OrchestrateError) -> [TargetEntry] {
        guard let array = table["targets"]?.array else { throw wrongType("targets", expected: "array") }
        guard !array.isEmpty else {
            throw .usage(
                "\(path):\(line(of: "targets")): `targets` is empty",
                hint: "list the targets (targets = [\"postgresql://…/tenant_1\", …]) or remove the key")
        }
        var entries: [TargetEntry] = []
        for (offset, element) in array.enumerated() {
            let place = "\(path):\(entryLine(offset)): `targets` entry \(offset + 1)"
            if let text = element.string {
                let url = try expander.expand(text, file: place, key: "targets")
                try checkConnectionString(url, key: "targets", at: place)
                guard let name = FleetConfig.derivedName(url: url) else {
                    throw .usage(
                        "\(place): its URL names no database that can be a target name (\(FleetConfig.nameRule))",
                        hint: "write it as a table with a name: { name = \"tenant_1\", url = \"…\" }")
                }
                entries.append(TargetEntry(name: name, url: url, schema: nil, origin: place))
                continue
            }
            guard let entry = element.table else {
                throw .usage(
                    "\(place) must be a URL string or a { name = \"…\", url = \"…\", schema = \"…\" } table, not a \(element.type)"
                )
            }
            for key in entry.keys.sorted() where !["name", "url", "schema"].contains(key) {
                throw .usage("\(place): unknown key `\(key)`", hint: "a target has `name`, `url` and `schema`")
            }
            func text(_ key: String) throws(OrchestrateError) -> String? {
                guard let value = entry[key] else { return nil }
                guard let raw = value.string else {
                    throw .usage("\(place): `\(key)` must be a string, not a \(value.type)")
                }
                return try expander.expand(raw, file: place, key: "targets")
            }
            let url = try text("url")
            if let url { try checkConnectionString(url, key: "targets", at: "\(place): `url`") }
            let schema = try text("schema")
            if let schema { try Self.checkSchema(schema, place: place) }
            if url == nil, databaseURL == nil {
                throw .usage(
                    "\(place) has no `url`, and `database_url` is not set",
                    hint: "give it a url, or set database_url (the database its schema lives in)")
            }
            let name: String
            if let given = try text("name") {
                guard FleetConfig.isValidName(given) else {
                    throw .usage(
                        "\(place): `name` must be \(FleetConfig.nameRule)", hint: "rename it in \(path)")
                }
                name = given
            } else if let schema, FleetConfig.isValidName(schema) {
                name = schema
            } else if schema == nil, let url, let derived = FleetConfig.derivedName(url: url) {
                name = derived
            } else {
                throw .usage(
                    "\(place) has no `name`, and none can be derived from its \(schema == nil ? "URL" : "schema")",
                    hint: "add name = \"…\" (\(FleetConfig.nameRule))")
            }
            entries.append(TargetEntry(name: name, url: url, schema: schema, origin: place))
        }
        return entries
    }

    static func checkSchema(_ schema: String, place: String) throws(OrchestrateError) {
        guard !schema.isEmpty, schema.utf8.count <= 63, !schema.contains("\0") else {
            throw .usage("\(place): `schema` must be 1 to 63 bytes long (PostgreSQL's limit for a name)")
        }
        if schema.hasPrefix("pg_") || schema == "information_schema" {
            throw .usage(
                "\(place): `schema` names a system schema", hint: "a schema target is the schema of one tenant")
        }
    }

    /// The line of the `index`-th entry of `targets`: its `[[targets]]` header, or in an inline array the
    /// `index`-th line from `targets =` on that starts an entry (a best effort: TOMLKit keeps no positions).
    func entryLine(_ index: Int) -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let headers = lines.enumerated().filter {
            $0.element.trimmingCharacters(in: .whitespaces).hasPrefix("[[targets]]")
        }
        if !headers.isEmpty { return index < headers.count ? headers[index].offset + 1 : headers[0].offset + 1 }
        let start = line(of: "targets")
        var seen = 0
        for number in start...max(start, lines.count) where number - 1 < lines.count {
            var body = Substring(lines[number - 1])
            if number == start, let equals = body.firstIndex(of: "=") { body = body[body.index(after: equals)...] }
            let trimmed = body.drop(while: { $0 == " " || $0 == "\t" || $0 == "[" })
            if trimmed.hasPrefix("{") || trimmed.hasPrefix("\"") || trimmed.hasPrefix("'") {
                // Several entries on one line: count them all.
                let starts = trimmed.filter { $0 == "{" }.count
                let count = max(1, starts > 0 ? starts : trimmed.filter({ $0 == "," }).count + 1)
                if index < seen + count { return number }
                seen += count
            }
        }
        return start
    }

    /// `session_settings`: a table of PostgreSQL settings (`[session_settings]` with
    /// `"citus.multi_shard_modify_mode" = "sequential"`, or the dotted key written as a nested table).
    func sessionSettings() throws(OrchestrateError) -> [SessionSetting] {
        guard let value = table["session_settings"] else { return [] }
        guard let settings = value.table else { throw wrongType("session_settings", expected: "table") }
        var result: [SessionSetting] = []
        try flatten(settings, prefix: "", into: &result)
        return result
    }

    private func flatten(
        _ settings: TOMLTable, prefix: String, into result: inout [SessionSetting]
    ) throws(OrchestrateError) {
        let place = "\(path):\(line(of: "session_settings"))"
        for key in settings.keys.sorted() {
            guard let value = settings[key] else { continue }
            let name = prefix + key
            if let nested = value.table {
                try flatten(nested, prefix: name + ".", into: &result)
                continue
            }
            guard FleetConfig.isValidSettingName(name) else {
                throw .usage(
                    "\(place): `session_settings`: `\(name.prefix(80))` is not a PostgreSQL setting name",
                    hint: "a setting name is letters, digits and `_`, with dots for an extension's (citus.…)")
            }
            if let reason = FleetConfig.reservedSettings[name.lowercased()] {
                throw .usage("\(place): `session_settings`: `\(name)` is set by orchestrate itself", hint: reason)
            }
            let text: String
            if let string = value.string {
                text = try expander.expand(string, file: place, key: "session_settings")
            } else if let number = value.int {
                text = String(number)
            } else if let flag = value.bool {
                text = flag ? "on" : "off"
            } else if let number = value.double {
                text = String(number)
            } else {
                throw .usage(
                    "\(place): `session_settings`: `\(name)` must be a string, number or boolean, not a \(value.type)")
            }
            guard !text.contains("\0") else {
                throw .usage("\(place): `session_settings`: `\(name)` holds a NUL byte")
            }
            result.append(SessionSetting(name: name, value: text))
        }
    }
}

extension FleetConfig {
    /// Refuses two targets with the same name, two targets on the same database and schema, and a schema target
    /// whose ledger schema would be another target's schema. `entries` come from `targets` or `targets_query`.
    static func checkUnique(
        _ entries: [TargetEntry], ledgerSchema: String, path: String
    ) throws(OrchestrateError) {
        var byName: [String: TargetEntry] = [:]
        var byPlace: [String: TargetEntry] = [:]
        for entry in entries {
            if let first = byName[entry.name] {
                throw .usage(
                    "\(entry.origin): the target name `\(entry.name)` is also the name of \(first.origin.shortOrigin)",
                    hint: "target names must be unique: give one of them another `name` ({ name = \"…\", url = \"…\" })"
                )
            }
            byName[entry.name] = entry
            let place = (entry.url ?? "") + "\u{0}" + (entry.schema ?? "")
            if let first = byPlace[place] {
                throw .usage(
                    "\(entry.origin): target `\(entry.name)` is the same database\(entry.schema == nil ? "" : " and schema") as `\(first.name)` (\(first.origin.shortOrigin))",
                    hint: "each target is run once: remove one of them")
            }
            byPlace[place] = entry
        }
        // A tenant's ledger lives next to its schema: it must not be another tenant's schema, nor the ledger of a
        // database target on the same database.
        var schemasByURL: [String: Set<String>] = [:]
        for entry in entries {
            schemasByURL[entry.url ?? "", default: []].insert(entry.schema ?? "")
        }
        for entry in entries {
            guard let schema = entry.schema else { continue }
            let ledger = FleetConfig.ledgerSchema(base: ledgerSchema, tenantSchema: schema)
            let others = schemasByURL[entry.url ?? ""] ?? []
            if others.contains(ledger) || ledger == ledgerSchema {
                throw .usage(
                    "\(entry.origin): target `\(entry.name)` keeps its ledger in schema `\(ledger)`, which is another target's schema",
                    hint: "set another `ledger_schema` in \(path), or rename a schema")
            }
        }
    }
}

extension String {
    /// "`targets` entry 3" out of "environments/prod.toml:5: `targets` entry 3".
    fileprivate var shortOrigin: String {
        guard let range = range(of: ": ", options: .backwards) else { return self }
        return String(self[range.upperBound...])
    }
}
