import Foundation
import Git
import Migrations

/// The git side of a writing run: which commit and branch it runs from, and whether the tree is clean.
enum GitProvenance {
    /// The provenance of a run from `projectRoot`, or nil outside a git repository (with a warning).
    ///
    /// A later stage refuses uncommitted changes under `migrations/` or `environments/`: what it runs must be what
    /// was reviewed. A first stage only warns, and the ledger records that the tree was dirty.
    static func current(
        projectRoot: String, environment: EnvironmentConfig, isFirstStage: Bool,
        progress: ProgressHandler
    ) throws(OrchestrateError) -> Provenance? {
        let repository: Repository
        do {
            repository = try Repository.discover(from: projectRoot)
        } catch {
            if error.code == .notARepository {
                if !isFirstStage || environment.branch != nil {
                    throw .policy(
                        "environment `\(environment.name)` needs git provenance, but \(projectRoot) is not in a git repository",
                        hint: "run orchestrate from a clone of the project's repository")
                }
                progress(.warning("not a git repository: the ledger will record no commit"))
                return nil
            }
            throw .operation("git: \(error.description)")
        }
        do {
            let head = try repository.head()
            guard let commit = head.commit else {
                if isFirstStage {
                    progress(.warning("the repository has no commit yet: the ledger will record no commit"))
                    return nil
                }
                throw OrchestrateError.policy(
                    "environment `\(environment.name)`: the repository has no commit yet",
                    hint: "commit migrations/ and environments/ first")
            }
            let prefix = relativePrefix(projectRoot: projectRoot, workdir: repository.workdir)
            let dirty = try repository.status(under: [prefix + "migrations", prefix + "environments"]).map(\.path)
                .sorted()
            if !dirty.isEmpty {
                let listed = Listing.items(dirty, counted: false)
                if !isFirstStage {
                    throw OrchestrateError.policy(
                        "environment `\(environment.name)` is a later stage and the work tree has uncommitted changes: \(listed)",
                        hint: "commit or stash them: a later stage runs only what is committed")
                }
                progress(
                    .warning(
                        "uncommitted changes under migrations/ or environments/ (\(listed)); the ledger records the tree as dirty"
                    ))
            }
            return Provenance(commit: commit.hex, branch: head.branch, dirtyPaths: dirty)
        } catch {
            throw gitFailure(error)
        }
    }

    /// `sub/dir/` when the project sits in a sub-folder of the repository, else "".
    static func relativePrefix(projectRoot: String, workdir: String?) -> String {
        guard let workdir else { return "" }
        let root = URL(fileURLWithPath: projectRoot).standardizedFileURL.resolvingSymlinksInPath().path
        let base = URL(fileURLWithPath: workdir).standardizedFileURL.resolvingSymlinksInPath().path
        guard root.hasPrefix(base), root != base else { return "" }
        var relative = String(root.dropFirst(base.count))
        if relative.hasPrefix("/") { relative.removeFirst() }
        return relative.isEmpty ? "" : relative + "/"
    }
}

/// The `branch = "…"` rule: a revision may be applied only if the commit that added its file is on that branch.
enum BranchGate {
    /// What git says about one file, for an environment that only takes revisions from its branch.
    enum Fact: Sendable, Equatable {
        /// The file is on the branch (same content at its tip, or added by a commit the branch reaches).
        case onBranch
        /// No commit added it: it is not committed.
        case notCommitted
        /// Added by this commit, which the branch does not reach.
        case addedOffBranch(commit: String, summary: String)
    }

    /// The facts `decide` needs about `files` (by path), read from git; nil for files that need no look-up. Throws
    /// when the branch exists neither locally nor as `origin/BRANCH`, or git fails.
    static func facts(
        files: [MigrationFile], environment: EnvironmentConfig,
        projectRoot: String
    ) throws(OrchestrateError) -> [String: Fact] {
        guard let branch = environment.branch, !files.isEmpty else { return [:] }
        do {
            let repository = try Repository.discover(from: projectRoot)
            let tip: ObjectID
            if let local = try? repository.resolve("refs/heads/\(branch)") {
                tip = local
            } else if let remote = try? repository.resolve("refs/remotes/origin/\(branch)") {
                tip = remote
            } else {
                throw OrchestrateError.policy(
                    "environment `\(environment.name)` requires branch `\(branch)`, which exists neither locally nor as origin/\(branch)",
                    hint: "git fetch origin \(branch)")
            }
            guard let head = try repository.head().commit else { return [:] }
            let prefix = GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository.workdir)
            let onBranch = Dictionary(
                try repository.files(in: tip, directory: prefix + "migrations").map { ($0.path, $0.blob) },
                uniquingKeysWith: { a, _ in a })
            let atHead = Dictionary(
                try repository.files(in: head, directory: prefix + "migrations").map { ($0.path, $0.blob) },
                uniquingKeysWith: { a, _ in a })
            var facts: [String: Fact] = [:]
            for file in files {
                let path = prefix + file.path
                // Cheap when the branch tip already has the same file content.
                if let blob = onBranch[path], blob == atHead[path] { facts[file.path] = .onBranch; continue }
                guard let adding = try repository.commitAdding(path: path, from: head) else {
                    facts[file.path] = .notCommitted
                    continue
                }
                facts[file.path] =
                    try repository.isReachable(adding.id, from: tip)
                    ? .onBranch : .addedOffBranch(commit: adding.id.short, summary: adding.summary)
            }
            return facts
        } catch {
            throw gitFailure(error)
        }
    }

    /// Refuses the first file that `facts` says is not on the environment's branch. Pure.
    static func decide(
        files: [MigrationFile], environment: EnvironmentConfig, facts: [String: Fact]
    ) throws(OrchestrateError) {
        guard let branch = environment.branch else { return }
        for file in files {
            switch facts[file.path] {
            case .notCommitted?:
                throw .policy(
                    "revision \(file.revision): \(file.path) is not committed, and `\(environment.name)` only takes revisions on branch `\(branch)`",
                    hint: "commit it and merge it into \(branch) first")
            case .addedOffBranch(let commit, let summary)?:
                throw .policy(
                    "revision \(file.revision) was added in commit \(commit) (\(summary)), which is not on branch `\(branch)`; `\(environment.name)` only takes revisions from \(branch)",
                    hint: "merge it into \(branch) first")
            case .onBranch?, nil:
                continue
            }
        }
    }
}

/// Any failure while reading git, as the error a run reports: an `OrchestrateError` as it is, a git error under `git:`.
func gitFailure(_ error: any Error) -> OrchestrateError {
    switch error {
    case let error as OrchestrateError: return error
    case let error as GitError: return .operation("git: \(error.description)")
    default: return .operation("git: \(error)")
    }
}
