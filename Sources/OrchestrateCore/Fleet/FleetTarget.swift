import Foundation
import Postgres

/// One resolved target of a fleet: its name, where it is (a secret) and its schema.
public struct FleetTarget: Sendable, Hashable, CustomStringConvertible {
    /// The target's name, unique in its environment.
    public var name: String
    /// The connection string (`database_url`'s for a schema target without a URL). May hold a password: it is not
    /// public, and `description` leaves it out.
    var conninfo: String
    /// The tenant's schema, nil for a whole database.
    public var schema: String?

    /// Makes a target.
    init(name: String, conninfo: String, schema: String?) {
        self.name = name
        self.conninfo = conninfo
        self.schema = schema
    }

    /// The name, and the schema when there is one; never the connection string.
    public var description: String { schema.map { "\(name) (schema \($0))" } ?? name }

    /// Where the target is, without secrets: `host=… dbname=…` (and the schema).
    public var display: String {
        let database = conninfo.hasPrefix("sandbox:") ? conninfo : ConnInfo.redacted(conninfo)
        return schema.map { "\(database) schema \($0)" } ?? database
    }
}

extension EnvironmentConfig {
    /// The configuration one target of this fleet runs with: the target's connection string, its own ledger (and
    /// so its own lock), the tenant's schema as `search_path`, and one connection for the whole run.
    ///
    /// A schema target's ledger is `FleetConfig.ledgerSchema(base: ledger_schema, tenantSchema:)`
    /// (`orchestrate_tenant_7`); a database target keeps `ledger_schema` in its own database.
    public func forTarget(_ target: FleetTarget) -> EnvironmentConfig {
        var config = self
        config.fleet = nil
        config.targetName = target.name
        config.databaseURL = target.conninfo
        config.singleConnection = true
        if let schema = target.schema {
            config.ledgerSchema = FleetConfig.ledgerSchema(base: ledgerSchema, tenantSchema: schema)
            config.sessionSettings.removeAll { $0.name.lowercased() == "search_path" }
            config.sessionSettings.append(SessionSetting(name: "search_path", value: Self.quotedIdentifier(schema)))
        }
        return config
    }

    /// "environment `prod`", or "target `tenant_7` of `prod`" for one target of a fleet.
    public var displayName: String {
        targetName.map { "target `\($0)` of `\(name)`" } ?? "environment `\(name)`"
    }

    /// `"name"` with inner quotes doubled: the value `search_path` is given (as a parameter, never spliced).
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Which targets of a fleet a command runs on: `--target NAME` (repeatable) or `--shard I/N`.
public struct TargetSelection: Sendable, Hashable {
    /// `--target` names, in the order given; empty for all.
    public var names: [String]
    /// `--shard I/N`.
    public var shard: Shard?

    /// Every target.
    public static let all = TargetSelection(names: [], shard: nil)

    /// Makes a selection.
    public init(names: [String] = [], shard: Shard? = nil) {
        self.names = names
        self.shard = shard
    }

    /// Whether it selects every target.
    public var isAll: Bool { names.isEmpty && shard == nil }

    /// `--shard I/N`: shard I (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`) of N. A target is in shard
    /// `stableHash(name) % N`: its shard depends only on its own name and N, so adding or removing other targets
    /// never moves it.
    public struct Shard: Sendable, Hashable, CustomStringConvertible {
        /// 0 ..< count.
        public var index: Int
        /// How many shards.
        public var count: Int

        /// The largest N accepted.
        public static let maximumCount = 10_000

        /// Parses `I/N`; refuses anything else with the rule.
        public init(parsing text: String) throws(OrchestrateError) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            let rule =
                "--shard I/N takes shard I of N, 0-based: I from 0 to N-1 (as Kubernetes' JOB_COMPLETION_INDEX), N from 1 to \(Self.maximumCount); e.g. --shard 0/4 … --shard 3/4"
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
                throw .usage("--shard `\(text.prefix(40))` is not I/N", hint: rule)
            }
            guard (1...Self.maximumCount).contains(count), (0..<count).contains(index) else {
                throw .usage("--shard \(index)/\(count) is out of range", hint: rule)
            }
            self.index = index
            self.count = count
        }

        /// Whether the target named `name` is in this shard.
        public func contains(_ name: String) -> Bool {
            Int(stableHash("orchestrate.shard:" + name) % UInt64(count)) == index
        }

        public var description: String { "\(index)/\(count)" }
    }

    /// The selected targets, in the fleet's order. An unknown `--target` is an error naming the closest names.
    public func select(_ targets: [FleetTarget], environment: String) throws(OrchestrateError) -> [FleetTarget] {
        if !names.isEmpty, shard != nil {
            throw .usage(
                "--target and --shard select targets in two ways; use one of them",
                hint: "--target NAME (repeatable) names targets; --shard I/N takes a stable share of all of them")
        }
        if let shard { return targets.filter { shard.contains($0.name) } }
        guard !names.isEmpty else { return targets }
        let known = Set(targets.map(\.name))
        for name in names where !known.contains(name) {
            let near = Self.nearNames(name, among: targets.map(\.name))
            throw .usage(
                "environment `\(environment)` has no target `\(name.prefix(80))`"
                    + (near.isEmpty ? "" : " (near: \(near.map { "`\($0)`" }.joined(separator: ", ")))"),
                hint: "`orchestrate status \(environment) --targets` lists its \(targets.count) target(s)")
        }
        let wanted = Set(names)
        return targets.filter { wanted.contains($0.name) }
    }

    /// Up to five names close to `word`: by edit distance, or sharing its prefix.
    static func nearNames(_ word: String, among names: [String]) -> [String] {
        let limit = max(2, word.count / 3)
        let scored = names.map { name -> (String, Int) in
            let distance = Suggestion.editDistance(word.lowercased(), name.lowercased())
            let prefixed = word.count >= 3 && name.lowercased().hasPrefix(word.lowercased())
            return (name, prefixed ? min(distance, limit) : distance)
        }
        return scored.filter { $0.1 <= limit }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(5).map(\.0)
    }
}
