import Migrations

/// What a writing run did.
public struct RunReport: Sendable, Codable {
    /// One revision that ran.
    public struct Step: Sendable, Codable {
        public var revision: String
        public var direction: Plan.Direction
        public var milliseconds: Int
    }
    /// The environment written to.
    public var environment: String
    /// `upgrade`, `promote` or `downgrade`.
    public var action: RunAction
    /// The revisions that ran, in order.
    public var steps: [Step]
    /// The git commit recorded, if any.
    public var gitCommit: String?
}
