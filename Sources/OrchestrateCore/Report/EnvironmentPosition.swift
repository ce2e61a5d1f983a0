import Foundation

/// Where one environment stands in the revision graph, as `graph` marks it and `rebase` checks it.
public struct EnvironmentPosition: Sendable, Codable, Hashable {
    /// The environment's name.
    public var name: String
    /// Whether its database answered (and its config is usable).
    public var reachable: Bool
    /// Why not, when it did not.
    public var error: String?
    /// Every revision its ledger records, interrupted ones included, in application order.
    public var recorded: [String]
    /// Fully applied revisions none of whose children are fully applied: where it stands (empty: nothing applied).
    public var heads: [String]
    /// Non-transactional revisions left half-applied or half-reverted.
    public var interrupted: [String]
}

extension Inspector {
    /// The position of `names` (all environments when empty, in pipeline order), read concurrently and read-only.
    ///
    /// An environment whose config is broken or whose database cannot be read is returned unreachable with the
    /// reason; this never throws for one environment's failure.
    public func positions(_ names: [String] = []) throws(OrchestrateError) -> [EnvironmentPosition] {
        let selected = names.isEmpty ? project.environmentNames : names
        for name in selected where project.environments[name] == nil && project.brokenEnvironments[name] == nil {
            _ = try project.environment(name)
        }
        let snapshots = readSnapshots(selected)
        return selected.map { name in
            guard project.environments[name] != nil else {
                return EnvironmentPosition(
                    name: name, reachable: false,
                    error: project.brokenEnvironments[name]?.description ?? "unknown environment",
                    recorded: [], heads: [], interrupted: [])
            }
            switch snapshots[name] {
            case .success(let snapshot):
                return Self.position(name: name, rows: snapshot.applied)
            case .failure(let error):
                return EnvironmentPosition(
                    name: name, reachable: false, error: error.description, recorded: [], heads: [],
                    interrupted: [])
            case nil:
                return EnvironmentPosition(
                    name: name, reachable: false, error: "not inspected", recorded: [], heads: [],
                    interrupted: [])
            }
        }
    }

    /// The position described by ledger rows.
    static func position(name: String, rows: [AppliedRevision]) -> EnvironmentPosition {
        EnvironmentPosition(
            name: name, reachable: true, error: nil, recorded: rows.map(\.revision), heads: heads(of: rows),
            interrupted: rows.filter { $0.state != .applied }.map(\.revision))
    }
}
