import ArgumentParser
import Foundation
import OrchestrateCore

struct Merge: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Write a merge revision whose parents are the current heads.",
        discussion: """
            The merge has no SQL of its own: it joins divergent lines of history so that `upgrade` and `new` have one \
            head again. Add SQL to it only if the two lines need reconciling. Fails when there is a single head.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(
        name: [.short, .customLong("message")],
        help: ArgumentHelp(
            "What the merge joins; it becomes the file name's slug (default: merge heads).", valueName: "message"))
    var message: String?

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let merged = try Authoring.mergeRevision(in: project, message: message)
        Console.out(merged.path)
        Console.err("merged \(merged.parents.count) heads: \(merged.parents.joined(separator: ", "))")
        return .done
    }
}
