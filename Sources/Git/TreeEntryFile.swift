/// A file in a commit's tree: its repository-relative path and the id of its contents.
public struct TreeEntryFile: Sendable, Hashable {
    /// The path from the repository's root, with `/` separators, e.g. `migrations/x.sql`.
    public var path: String
    /// The id of the file's contents; read them with `Repository.blobContents(_:)`, and cache by this id.
    public var blob: ObjectID

    /// Makes a tree entry; the repository makes these, this is for callers' tests.
    public init(path: String, blob: ObjectID) {
        self.path = path
        self.blob = blob
    }
}
