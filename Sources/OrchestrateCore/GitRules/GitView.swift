import Foundation
import Git

/// Read-only git answers for reports; every question degrades to "unknown" outside a repository.
///
/// The repository is opened by the first question: most reports ask none (no drift, no orphans), and starting libgit2
/// costs ~10 ms and ~1 MiB (Debian's build parses the system's CA certificates).
final class GitView {
    private let projectRoot: String
    private lazy var opened: (repository: Repository?, prefix: String, head: ObjectID?) = {
        let repository = try? Repository.discover(from: projectRoot)
        return (
            repository: repository,
            prefix: GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository?.workdir),
            head: (try? repository?.head().commit) ?? nil
        )
    }()

    init(projectRoot: String) {
        self.projectRoot = projectRoot
    }

    private var repository: Repository? { opened.repository }
    private var prefix: String { opened.prefix }
    private var head: ObjectID? { opened.head }

    /// The commits that changed `path` (project-relative) after `since` up to HEAD, newest first.
    func commitsChanging(path: String, since: String?) -> [CommitSummary] {
        guard let repository, let head else { return [] }
        let hiding = since.flatMap { try? repository.resolve($0) }
        let commits =
            (try? repository.commitsTouching(path: prefix + path, from: head, hiding: hiding, limit: 20)) ?? []
        return commits.map(CommitSummary.init)
    }

    /// Whether git knows `commit`.
    func knows(_ commit: String?) -> Bool {
        guard let repository, let commit else { return false }
        return (try? repository.resolve(commit)) != nil
    }

    /// The branches whose history contains `commit`.
    func branchesContaining(_ commit: String?) -> [String] {
        guard let repository, let commit, let id = try? repository.resolve(commit) else { return [] }
        return (try? repository.branchesContaining(id)) ?? []
    }
}

extension CommitSummary {
    init(_ commit: CommitInfo) {
        let formatter = ISO8601DateFormatter()
        self.init(
            sha: commit.id.hex, shortSHA: commit.id.short, summary: commit.summary,
            author: "\(commit.authorName) <\(commit.authorEmail)>", time: formatter.string(from: commit.time))
    }
}
