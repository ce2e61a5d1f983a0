/// Where a command should take an environment: its single head, nothing applied, or one revision.
public enum Target: Sendable, Equatable {
    /// The single head of the graph (`upgrade`), or everything the source stage runs (`promote`).
    case head
    /// Nothing applied: `downgrade --to base` reverts everything; `upgrade --to base` does nothing.
    case base
    /// A revision spec as typed: an exact id or a unique prefix, resolved by the planner against its graph.
    case revision(String)

    /// "head" -> .head, "base" -> .base, anything else -> .revision(spec) (unresolved)
    public init(_ spec: String) {
        switch spec {
        case "head":
            self = .head
        case "base":
            self = .base
        default:
            self = .revision(spec)
        }
    }
}
