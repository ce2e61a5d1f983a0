import Foundation
import Migrations

/// What `rebase` decided before touching anything: the file to rewrite and the graph it leads to.
public struct RebasePlan: Sendable {
    /// The revision moved.
    public var revision: String
    /// Its project-relative path.
    public var path: String
    /// Its parents before the rebase.
    public var previousParents: [String]
    /// Its parent after the rebase.
    public var parent: String
    /// The new file bytes (only the `-- parent:` value differs from the old ones).
    public var bytes: [UInt8]
    /// The heads of the graph after the rebase.
    public var headsAfter: [String]
    /// False when the revision already has exactly that parent (nothing to write).
    public var changes: Bool
}

/// What `rebase` did.
public struct RebaseResult: Sendable, Codable {
    /// The revision moved.
    public var revision: String
    /// Its project-relative path.
    public var path: String
    /// Its parents before the rebase.
    public var previousParents: [String]
    /// Its parent now.
    public var parent: String
    /// Whether the file was rewritten (false when it already had that parent).
    public var rewritten: Bool
    /// The heads of the graph now (more than one: still divergent).
    public var heads: [String]
    /// Environments that could not be checked and were skipped with `--force-unreachable`.
    public var uncheckedEnvironments: [String]
}

extension Authoring {
    /// Rewrites the `-- parent:` line of `revision` to name `onto`, keeping every other byte of the file.
    ///
    /// Refused (nothing written) when the result would be invalid (unknown revision, the root, a merge revision, a
    /// cycle), when an environment has recorded `revision` in its ledger (the error names each; moving an applied
    /// revision would make its ledger disagree with the files), and when an environment cannot be read, unless
    /// `forceUnreachable` (then it is listed in the result and warned about).
    public static func rebase(
        in project: Project, revision: String, onto: String, forceUnreachable: Bool,
        progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> RebaseResult {
        let files = try readFiles(project)
        let plan = try planRebase(files: files, revision: revision, onto: onto)
        var unchecked: [String] = []
        if plan.changes {
            let positions = try Inspector(project: project, progress: progress).positions()
            unchecked = try rebaseBlockers(
                revision: plan.revision, onto: plan.parent, positions: positions,
                forceUnreachable: forceUnreachable)
            for name in unchecked {
                progress(
                    .warning(
                        "environment `\(name)` could not be read, so it was not checked for \(plan.revision) (--force-unreachable)"
                    ))
            }
            do {
                try Data(plan.bytes).write(to: URL(fileURLWithPath: project.root + "/" + plan.path))
            } catch {
                throw .operation("cannot write \(plan.path): \(error.localizedDescription)")
            }
        }
        return RebaseResult(
            revision: plan.revision, path: plan.path, previousParents: plan.previousParents,
            parent: plan.parent, rewritten: plan.changes, heads: plan.headsAfter,
            uncheckedEnvironments: unchecked)
    }

    /// The rebase of `revision` onto `onto` over `files` (raw bytes by revision id), validated; pure.
    ///
    /// Both arguments take an exact id or a unique prefix (and `head` when the graph has one head). The revision must
    /// have exactly one parent; the graph after the change must be valid (no cycle).
    public static func planRebase(
        files: [String: (path: String, bytes: [UInt8])], revision: String,
        onto: String
    ) throws(OrchestrateError) -> RebasePlan {
        var parsed: [String: MigrationFile] = [:]
        for (id, file) in files {
            do {
                parsed[id] = try MigrationFile.parse(path: file.path, bytes: file.bytes)
            } catch {
                throw .usage(error.description)
            }
        }
        let ids = parsed.keys.sorted()
        let current = try? RevisionGraph(parsed.values.map { RevisionNode(id: $0.revision, parents: $0.parents) })
        // Prefixes resolve over all ids even when the current graph is broken (a rebase may be what repairs it).
        let index = current ?? (try? RevisionGraph(ids.map { RevisionNode(id: $0, parents: []) }))
        func resolve(_ spec: String, role: String) throws(OrchestrateError) -> String {
            guard let index else { throw .usage("unknown revision `\(spec)`") }
            do throws(GraphError) { return try index.resolve(spec) } catch {
                throw .usage("\(role): \(error.description)")
            }
        }
        let id = try resolve(revision, role: "REV")
        let parent = try resolve(onto, role: "--onto")
        guard let file = parsed[id], let raw = files[id] else { throw .usage("unknown revision `\(revision)`") }
        guard !file.parents.isEmpty else {
            throw .usage(
                "\(file.path): \(id) is the root revision: it has no parent to move",
                hint: "rebase moves a revision that has one parent; every other revision builds on the root")
        }
        guard file.parents.count == 1 else {
            throw .usage(
                "\(file.path): \(id) is a merge revision (parents \(file.parents.joined(separator: ", "))); rebase moves a revision with one parent",
                hint: "edit its `-- parent:` line by hand, or delete it and run `orchestrate merge` again")
        }
        guard parent != id else {
            throw .usage("cannot rebase \(id) onto itself", hint: "give --onto the revision it should build on")
        }
        let headsNow = current?.heads ?? []
        if file.parents == [parent] {
            return RebasePlan(
                revision: id, path: file.path, previousParents: file.parents, parent: parent, bytes: raw.bytes,
                headsAfter: headsNow, changes: false)
        }
        guard let bytes = MigrationFile.replacingParents(in: raw.bytes, with: [parent]) else {
            throw .usage("\(file.path): cannot find its `-- parent:` line")
        }
        let rewritten: MigrationFile
        do {
            rewritten = try MigrationFile.parse(path: file.path, bytes: bytes)
        } catch {
            throw .operation("rewriting \(file.path) would break it: \(error.description); nothing was written")
        }
        parsed[id] = rewritten
        let after: RevisionGraph
        do throws(GraphError) {
            after = try RevisionGraph(parsed.values.map { RevisionNode(id: $0.revision, parents: $0.parents) })
        } catch {
            if case .cycle(let cycle) = error {
                throw .usage(
                    "rebasing \(id) onto \(parent) would make a cycle (\(cycle.joined(separator: " -> "))): \(parent) builds on \(id); nothing was written",
                    hint: "pick a revision that does not descend from \(id), e.g. one of the other heads")
            }
            throw MigrationSet.describe(error, files: parsed)
        }
        return RebasePlan(
            revision: id, path: file.path, previousParents: file.parents, parent: parent, bytes: bytes,
            headsAfter: after.heads, changes: true)
    }

    /// Which environments stop a rebase of `revision`: those that recorded it (policy) and, unless
    /// `forceUnreachable`, those that could not be read. Returns the unreachable ones let through.
    ///
    /// When `onto` is applied somewhere too, rebasing the other way is refused as well, so the hint says that only a
    /// merge revision can join them instead of suggesting the opposite rebase.
    public static func rebaseBlockers(
        revision: String, onto: String? = nil, positions: [EnvironmentPosition],
        forceUnreachable: Bool
    ) throws(OrchestrateError) -> [String] {
        let applied = positions.filter { $0.reachable && $0.recorded.contains(revision) }.map(\.name)
        if !applied.isEmpty {
            let ontoApplied =
                onto.map { onto in positions.filter { $0.reachable && $0.recorded.contains(onto) }.map(\.name) } ?? []
            let hint =
                ontoApplied.isEmpty
                ? "rebase the other head onto it instead, or `orchestrate merge` the heads; to move it anyway, `orchestrate downgrade` it from \(applied.joined(separator: ", ")) first"
                : "\(onto ?? "the other revision") is applied too (to \(ontoApplied.joined(separator: ", "))), so neither can be moved: run `orchestrate merge` to join the heads with a merge revision"
            throw .policy(
                "\(revision) is applied to \(applied.map { "`\($0)`" }.joined(separator: ", ")): moving it would make \(applied.count == 1 ? "that ledger" : "those ledgers") disagree with migrations/; nothing was written",
                hint: hint)
        }
        let unreachable = positions.filter { !$0.reachable }
        if !unreachable.isEmpty, !forceUnreachable {
            let reasons = unreachable.map {
                "`\($0.name)`: \(($0.error ?? "unknown error").split(separator: "\n").first ?? "")"
            }
            throw .operation(
                "cannot tell whether \(revision) is applied everywhere: \(reasons.joined(separator: "; ")); nothing was written",
                hint:
                    "fix the connection, or pass --force-unreachable if you know \(unreachable.count == 1 ? "that environment has" : "those environments have") not applied \(revision)"
            )
        }
        return unreachable.map(\.name)
    }

    /// The raw bytes of every `migrations/*.sql` file, by revision id (the file name without `.sql`).
    static func readFiles(_ project: Project) throws(OrchestrateError) -> [String: (path: String, bytes: [UInt8])] {
        let fileManager = FileManager.default
        let directory = project.migrationsDirectory
        guard let names = try? fileManager.contentsOfDirectory(atPath: directory) else {
            throw .usage("migrations/: cannot be listed", hint: "run from the project, or create migrations/")
        }
        var files: [String: (path: String, bytes: [UInt8])] = [:]
        for name in names where try MigrationSet.isMigrationFileName(name, displayPrefix: "migrations/") {
            let bytes = try ProjectFile.read(directory + "/" + name, display: "migrations/" + name, root: project.root)
            files[String(name.dropLast(4))] = ("migrations/" + name, bytes)
        }
        return files
    }
}
