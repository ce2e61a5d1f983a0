/// A path with uncommitted changes, as `Repository.status(under:)` reports it.
///
/// Several flags can be true at once: a file staged and then edited again is `staged` and `unstaged`.
public struct StatusEntry: Sendable, Hashable {
    /// The path from the repository's root, with `/` separators.
    public var path: String
    /// The index differs from HEAD for this path (added, modified, deleted, renamed or retyped in the index).
    public var staged: Bool
    /// The work tree differs from the index for this tracked path, or the path has an unresolved conflict.
    public var unstaged: Bool
    /// The path is in the work tree only: neither tracked nor ignored.
    public var untracked: Bool

    /// Makes a status entry; the repository makes these, this is for callers' tests.
    public init(path: String, staged: Bool, unstaged: Bool, untracked: Bool) {
        self.path = path
        self.staged = staged
        self.unstaged = unstaged
        self.untracked = untracked
    }
}
