import OrchestrateCore

extension EnvironmentStatus {
    /// "unknown: dev could not be read: …" when the source of the environment's revisions (its source stage, or
    /// migrations/) could not be read, its lines after the first indented by `indent`; nil when it was read.
    func unreadableSource(indent: Int) -> String? {
        guard let why = sourceError else { return nil }
        let source = promotesFrom ?? "migrations/"
        return Console.style("unknown", .red) + ": \(source) could not be read: "
            + why.replacingOccurrences(of: "\n", with: "\n" + String(repeating: " ", count: indent))
    }
}
