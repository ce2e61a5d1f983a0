import ArgumentParser
import Foundation
import Migrations
import OrchestrateCore

struct Heads: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads", abstract: "The revisions with no children (one, unless branches diverged).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let migrations = try project.loadMigrations()
        let heads = migrations.graph.heads
        if output.json {
            try Console.json(["heads": heads])
            return .done
        }
        for head in heads { Console.out(head) }
        if heads.count > 1 {
            Console.err(
                Console.style("warning:", .yellow, forStderr: true)
                    + " \(heads.count) heads: `orchestrate merge` joins them, or `orchestrate rebase REV --onto OTHER` moves one that no environment has applied"
            )
        }
        return .done
    }
}
