/// A file in a commit's tree: its repository-relative path and the id of its contents.
public struct TreeEntryFile: Sendable, Hashable {
    /// The path from the repository's root, with `/` separators, e.g. `migrations/x.sql`.
    public var path: String
    /// The id of the file's contents; read them with `Repository.blobContents(_:)`, and cache by this id.
    public var blob: ObjectID
    /// True when the entry is a symbolic link (mode 120000): its blob holds the link's target path, not a file.
    public var isSymbolicLink: Bool

    /// Makes a tree entry; the repository makes these, this is for callers' tests.
    public init(path: String, blob: ObjectID, isSymbolicLink: Bool = false) {
        self.path = path
        self.blob = blob
        self.isSymbolicLink = isSymbolicLink
    }
}
