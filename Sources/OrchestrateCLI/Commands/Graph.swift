import ArgumentParser
import Foundation
import OrchestrateCore

struct Graph: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract:
            "Draw the revision graph like `git log --graph`, newest first, marking where each environment stands.",
        discussion: """
            `◀ dev, staging` follows the revisions each environment runs at the top of what it applied. Environments \
            that cannot be read are named in a warning and left unmarked; --offline reads no database at all.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Flag(name: .long, help: "Do not connect to any database (no environment markers).") var offline = false

    /// The JSON document.
    struct Document: Encodable {
        struct Revision: Encodable {
            var id: String
            var parents: [String]
            /// Environments standing at this revision.
            var environments: [String]
        }
        /// Newest first, in drawing order.
        var revisions: [Revision]
        var heads: [String]
        /// Absent with --offline.
        var environments: [EnvironmentPosition]?
        /// The drawing, one line per entry.
        var lines: [String]
    }

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let migrations = try project.loadMigrations()
        let graph = migrations.graph
        var positions: [EnvironmentPosition]?
        if !offline {
            positions = try context.inspector.positions()
        }
        var markers: [String: [String]] = [:]
        var orphans: [String] = []
        var bare: [String] = []
        for position in positions ?? [] {
            guard position.reachable else {
                let reason = (position.error ?? "unknown error").split(separator: "\n").first.map(String.init) ?? ""
                Console.err(
                    Console.style("warning:", .yellow, forStderr: true) + " `\(position.name)` not shown: \(reason)")
                continue
            }
            if position.heads.isEmpty, position.interrupted.isEmpty { bare.append(position.name) }
            for head in position.heads {
                if graph.contains(head) {
                    markers[head, default: []].append(position.name)
                } else {
                    orphans.append("\(position.name) runs \(head)")
                }
            }
            for revision in position.interrupted where graph.contains(revision) {
                markers[revision, default: []].append("\(position.name) (interrupted)")
            }
        }
        let lines = GraphDrawing.render(graph, markers: markers)
        if output.json {
            let revisions = GraphDrawing.order(graph).map {
                Document.Revision(id: $0, parents: graph.parents(of: $0), environments: markers[$0] ?? [])
            }
            try Console.json(Document(revisions: revisions, heads: graph.heads, environments: positions, lines: lines))
            return .done
        }
        if graph.isEmpty {
            Console.out("no revisions in migrations/ (`orchestrate new MESSAGE` writes the first)")
        }
        for line in lines { Console.out(line) }
        if !orphans.isEmpty {
            Console.out(
                "◀ \(orphans.joined(separator: "; ")), which has no file in migrations/ (an orphan: `orchestrate status` says where it came from)"
            )
        }
        if !bare.isEmpty {
            Console.out("◀ nothing applied: \(bare.joined(separator: ", "))")
        }
        if graph.heads.count > 1 {
            Console.err(
                Console.style("warning:", .yellow, forStderr: true)
                    + " \(graph.heads.count) heads: `orchestrate merge` joins them, or `orchestrate rebase REV --onto OTHER` moves one that no environment has applied"
            )
        }
        return .done
    }
}
