/// One revision as the graph sees it: an id and the ids of its parents.
///
/// Build nodes from migration files (`MigrationFile.revision` and `.parents`) or from a ledger's applied
/// revisions and their recorded parents.
public struct RevisionNode: Sendable, Hashable {
    /// The revision id.
    public var id: String
    /// The parent ids in the order written; `[]` for the root.
    public var parents: [String]

    /// Creates a node.
    public init(id: String, parents: [String]) {
        self.id = id
        self.parents = parents
    }
}
