import Foundation

/// A commit's identity and the facts a report names: summary, author, date and parents.
public struct CommitInfo: Sendable, Hashable {
    /// The commit's id.
    public var id: ObjectID
    /// The first paragraph of the message, joined into one line (as `git log --oneline` shows it).
    public var summary: String
    /// The author's name.
    public var authorName: String
    /// The author's email address.
    public var authorEmail: String
    /// The author date (what `git log` shows), not the committer date.
    public var time: Date
    /// The parents' ids, first parent first; empty for a root commit.
    ///
    /// In a shallow clone the parents of the oldest commits are listed but are not in the repository.
    public var parents: [ObjectID]

    /// Makes a commit description; the repository makes these, this is for callers' tests.
    public init(id: ObjectID, summary: String, authorName: String, authorEmail: String, time: Date, parents: [ObjectID])
    {
        self.id = id
        self.summary = summary
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.time = time
        self.parents = parents
    }
}
