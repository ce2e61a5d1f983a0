/// What a command would run: revisions to apply (up) or revert (down), in execution order.
public struct Plan: Sendable, Equatable {
    /// Whether the plan applies up sections or reverts with down sections.
    public enum Direction: String, Sendable, Codable {
        /// Apply `-- migrate:up` sections, parents first.
        case up
        /// Revert with `-- migrate:down` sections, newest first.
        case down
    }

    /// Up or down.
    public var direction: Direction
    /// The revisions in execution order.
    public var revisions: [String]

    /// Whether there is nothing to run.
    public var isEmpty: Bool { revisions.isEmpty }

    /// The plan cut to its first `steps` revisions (all of them when nil). For an up plan, a prefix of the
    /// topological order is closed under "parent of": every parent of a kept revision is applied or kept.
    public func first(_ steps: Int?) -> Plan {
        guard let steps else { return self }
        return Plan(direction: direction, revisions: Array(revisions.prefix(max(0, steps))))
    }

    /// Creates a plan.
    public init(direction: Direction, revisions: [String]) {
        self.direction = direction
        self.revisions = revisions
    }
}
