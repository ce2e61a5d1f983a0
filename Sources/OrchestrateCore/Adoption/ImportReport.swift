import Foundation

/// Another migration tool whose layout `orchestrate import` reads (DESIGN §6).
public enum ForeignTool: String, Sendable, Codable, CaseIterable {
    case alembic
    case flyway
    case dbmate
    case golangMigrate = "golang-migrate"
    case goose
}

/// One file of another tool's layout, read as text: `path` as shown in the report (relative to the folder read).
public struct ForeignFile: Sendable, Hashable {
    /// The path shown in the report and in errors.
    public var path: String
    /// The file's text.
    public var text: String

    /// Makes a file.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// The last path component.
    var name: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// A revision converted from another tool, ready to be rendered as `migrations/<id>.sql`.
public struct ImportedRevision: Sendable, Hashable {
    /// The revision id: the other tool's own id or file stem, sanitized only when it is not a valid id.
    public var id: String
    /// Where it came from (a file of the other tool).
    public var source: String
    /// What the revision does (the other tool's message or description); written as the leading comment.
    public var message: String?
    /// Further comment lines for the header (without `-- `), such as Alembic's branch labels.
    public var comments: [String] = []
    /// The parent ids, in order.
    public var parents: [String]
    /// Whether the revision runs inside a transaction.
    public var transactional: Bool = true
    /// The up SQL; empty (or comments only) when it must be filled in before it can be applied.
    public var up: String
    /// The down SQL; nil when the other tool had none (the revision is then irreversible).
    public var down: String?
    /// What was changed on the way, for the report (`autocommit_block -> -- transaction: false`).
    public var conversions: [String] = []
    /// Why the up section was left empty, when it was: the revision refuses to apply until filled in.
    public var toFillIn: String?

    /// Makes a revision.
    public init(
        id: String, source: String, message: String? = nil, parents: [String] = [], up: String,
        down: String? = nil
    ) {
        self.id = id
        self.source = source
        self.message = message
        self.parents = parents
        self.up = up
        self.down = down
    }
}

/// What a conversion made of another tool's files, before anything is written.
public struct ImportPlan: Sendable {
    /// The tool read.
    public var tool: ForeignTool
    /// The revisions, in the other tool's order.
    public var revisions: [ImportedRevision] = []
    /// Files not imported, with the reason.
    public var skipped: [ImportReport.Skipped] = []

    /// Makes an empty plan.
    public init(tool: ForeignTool) {
        self.tool = tool
    }
}

/// The outcome of `orchestrate import`: what was written, what was converted on the way, and what was not imported.
public struct ImportReport: Sendable, Codable {
    /// One imported revision.
    public struct Imported: Sendable, Codable, Hashable {
        /// The revision id.
        public var revision: String
        /// The file written, project-relative.
        public var file: String
        /// The other tool's file it came from.
        public var source: String
        /// Its parents.
        public var parents: [String]
        /// Whether it runs inside a transaction.
        public var transactional: Bool
        /// Whether it has a down section.
        public var reversible: Bool
        /// What was converted on the way.
        public var conversions: [String]
        /// Set when its up section must be filled in before it can be applied, saying why.
        public var toFillIn: String?
    }

    /// A file that was not imported.
    public struct Skipped: Sendable, Codable, Hashable {
        /// The other tool's file.
        public var source: String
        /// Why it was not imported, and what to do about it.
        public var reason: String

        /// Makes an entry.
        public init(source: String, reason: String) {
            self.source = source
            self.reason = reason
        }
    }

    /// The tool read.
    public var tool: String
    /// The file or folder read.
    public var source: String
    /// The revisions written, in the other tool's order.
    public var imported: [Imported]
    /// The files not imported.
    public var notImported: [Skipped]
    /// The heads of the imported graph.
    public var heads: [String]
}
