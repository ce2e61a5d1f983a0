/// The stages linked by `promotes_from`: a chain or a tree, with no cycles (DESIGN §4).
public struct Pipeline: Sendable, Hashable {
    /// Environment names in pipeline order: each stage after its source, siblings by name.
    public private(set) var order: [String]
    /// Each stage's source; absent for first stages.
    public private(set) var sources: [String: String]

    /// One environment as the pipeline sees it: its name, its file and its source stage.
    public struct Stage: Sendable, Hashable {
        public var name: String
        public var path: String
        public var promotesFrom: String?

        /// Makes a stage.
        public init(name: String, path: String, promotesFrom: String?) {
            self.name = name
            self.path = path
            self.promotesFrom = promotesFrom
        }
    }

    /// Validates the links between `environments`: every `promotes_from` names a known environment and there is no
    /// cycle. Errors name the file and key.
    public init(_ environments: [EnvironmentConfig]) throws(OrchestrateError) {
        try self.init(stages: environments.map { Stage(name: $0.name, path: $0.path, promotesFrom: $0.promotesFrom) })
    }

    /// Validates the links between `stages` (environments that loaded, and those whose file is broken but whose
    /// `promotes_from` could still be read, so a broken stage keeps its place).
    public init(stages environments: [Stage]) throws(OrchestrateError) {
        let byName = Dictionary(environments.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var sources: [String: String] = [:]
        for environment in environments.sorted(by: { $0.name < $1.name }) {
            guard let source = environment.promotesFrom else { continue }
            guard byName[source] != nil else {
                throw .usage(
                    "\(environment.path): `promotes_from` names no environment (its value is not shown: a misplaced secret must not be printed)"
                        + (Suggestion.closest(to: source, among: Array(byName.keys)).map { "; did you mean `\($0)`?" }
                            ?? ""),
                    hint:
                        "environments are: \(byName.keys.sorted().joined(separator: ", ")) (one file per environment in environments/)"
                )
            }
            sources[environment.name] = source
        }
        for environment in environments.sorted(by: { $0.name < $1.name }) {
            var seen = [environment.name]
            var current = environment.name
            while let next = sources[current] {
                if next == environment.name {
                    let cycle = (seen + [next]).joined(separator: " -> ")
                    throw .usage(
                        "\(environment.path): `promotes_from` makes a cycle: \(cycle)",
                        hint: "the first stage must not have `promotes_from`")
                }
                if seen.contains(next) { break }
                seen.append(next)
                current = next
            }
        }
        var order: [String] = []
        var frontier = environments.map(\.name).filter { sources[$0] == nil }.sorted()
        while !frontier.isEmpty {
            let name = frontier.removeFirst()
            order.append(name)
            frontier.append(contentsOf: sources.filter { $0.value == name }.map(\.key).sorted())
        }
        self.order = order
        self.sources = sources
    }

    /// The source stage of `environment`, or nil for a first stage.
    public func source(of environment: String) -> String? { sources[environment] }

    /// Whether `environment` takes revisions from files (`upgrade`) rather than from a source stage (`promote`).
    public func isFirstStage(_ environment: String) -> Bool { sources[environment] == nil }

    /// The stages that promote from `environment`.
    public func targets(of environment: String) -> [String] {
        sources.filter { $0.value == environment }.map(\.key).sorted()
    }
}
