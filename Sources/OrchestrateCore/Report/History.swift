import Foundation
import Git
import Migrations

/// One revision as `orchestrate history` lists it.
public struct HistoryEntry: Sendable, Codable, Hashable {
    /// The revision id.
    public var revision: String
    /// Its parents (several for a merge revision, none for a root).
    public var parents: [String]
    /// What it does: its leading comment, else the slug of its id; nil when neither says.
    public var message: String?
    /// Its file, project-relative.
    public var file: String
    /// The commit that added the file, from git; nil when unknown (not committed yet, no repository, or beyond a
    /// shallow clone's history).
    public var addedBy: CommitSummary?
    /// With `--env`: whether that environment runs it; nil without `--env`.
    public var applied: Bool?
    /// With `--env`: whether `baseline` recorded it there (applied by another tool or by hand); nil without `--env`.
    public var baselined: Bool?
    /// Whether nothing builds on it.
    public var isHead: Bool
}

/// What `orchestrate history` reports.
public struct HistoryReport: Sendable, Codable {
    /// The environment asked about with `--env`, if any.
    public var environment: String?
    /// Whether git could be read: without it, `addedBy` is unknown for every revision.
    public var gitAvailable: Bool
    /// The revisions, newest first (every revision before its parents, each line of history kept together).
    public var revisions: [HistoryEntry]
}

extension Inspector {
    /// Every revision newest first, with its message and the commit that added it; with `environment`, which of them
    /// it runs (read-only).
    public func history(environment: String? = nil) throws(OrchestrateError) -> HistoryReport {
        let migrations = try project.loadMigrations()
        var applied: Set<String>?
        var baselined: Set<String>?
        if let environment {
            let snapshot = readSnapshots([environment])[environment]
            switch snapshot {
            case .success(let state):
                applied = Set(state.applied.filter { $0.state == .applied }.map(\.revision))
                baselined = Set(state.applied.filter { $0.state == .applied && $0.baselined }.map(\.revision))
            case .failure(let error): throw error
            case nil: _ = try project.environment(environment)
            }
        }
        let additions = Self.additions(projectRoot: project.root)
        let heads = Set(migrations.graph.heads)
        let entries = GraphDrawing.order(migrations.graph).compactMap { id -> HistoryEntry? in
            guard let file = migrations.files[id] else { return nil }
            let text =
                (try? ProjectFile.readText(project.root + "/" + file.path, display: file.path, root: project.root))
                ?? ""
            return HistoryEntry(
                revision: id, parents: file.parents, message: Self.message(of: text, revision: id), file: file.path,
                addedBy: additions?[file.path].map(CommitSummary.init), applied: applied.map { $0.contains(id) },
                baselined: baselined.map { $0.contains(id) }, isHead: heads.contains(id))
        }
        return HistoryReport(environment: environment, gitAvailable: additions != nil, revisions: entries)
    }

    /// The commit that added each file of `migrations/`, by project-relative path; nil without a repository.
    static func additions(projectRoot: String) -> [String: CommitInfo]? {
        guard let repository = try? Repository.discover(from: projectRoot),
            let head = (try? repository.head().commit) ?? nil
        else { return nil }
        let prefix = GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository.workdir)
        guard let found = try? repository.commitsAddingFiles(in: prefix + "migrations", from: head) else { return nil }
        var byPath: [String: CommitInfo] = [:]
        for (path, commit) in found { byPath[String(path.dropFirst(prefix.count))] = commit }
        return byPath
    }

    /// What a revision does: the first comment before any SQL that is neither a header key nor a marker (an
    /// imported revision's message, or the comment `orchestrate new` writes), else the slug of an id made by `new`
    /// (`20261121093000_add_orders` -> `add orders`).
    static func message(of text: String, revision: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard trimmed.hasPrefix("--") else { break }
            var comment = trimmed.dropFirst(2).trimmingCharacters(in: .whitespaces)
            if comment.isEmpty { continue }
            if let colon = comment.firstIndex(of: ":"),
                comment[..<colon].allSatisfy({ $0.isLowercase || $0 == "_" }), !comment[..<colon].isEmpty
            {
                continue  // a header key or a marker
            }
            if comment.hasPrefix("Message: ") { comment = String(comment.dropFirst("Message: ".count)) }
            return comment
        }
        let parts = revision.split(separator: "_", maxSplits: 1)
        if parts.count == 2, parts[0].count == 14, parts[0].allSatisfy(\.isNumber) {
            return parts[1].replacingOccurrences(of: "_", with: " ")
        }
        return nil
    }
}
