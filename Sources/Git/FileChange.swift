/// How a file changed between two trees.
public enum ChangeKind: Sendable, Hashable {
    /// The file is new.
    case added
    /// The file's contents (or its executable bit) changed.
    case modified
    /// The file is gone.
    case deleted
    /// The file moved to a new path, possibly with edits (rename detection was asked for).
    case renamed
    /// The path changed type, for example from a regular file to a symbolic link.
    case typeChanged
}

/// One file's change between two trees, as `Repository.diff(from:to:directory:detectRenames:)` reports it.
///
/// Paths are repository-relative. `oldPath`/`oldBlob` are nil for an added file, `newPath`/`newBlob`
/// nil for a deleted one. Blob ids let the caller tell a line-ending-only change from an edit by
/// comparing normalised contents, without reading blobs it has seen before.
public struct FileChange: Sendable, Hashable {
    /// How the file changed.
    public var kind: ChangeKind
    /// The path in the old tree; nil when the file was added.
    public var oldPath: String?
    /// The path in the new tree; nil when the file was deleted.
    public var newPath: String?
    /// The contents' id in the old tree; nil when the file was added.
    public var oldBlob: ObjectID?
    /// The contents' id in the new tree; nil when the file was deleted.
    public var newBlob: ObjectID?

    /// Makes a change; the repository makes these, this is for callers' tests.
    public init(kind: ChangeKind, oldPath: String?, newPath: String?, oldBlob: ObjectID?, newBlob: ObjectID?) {
        self.kind = kind
        self.oldPath = oldPath
        self.newPath = newPath
        self.oldBlob = oldBlob
        self.newBlob = newBlob
    }
}
