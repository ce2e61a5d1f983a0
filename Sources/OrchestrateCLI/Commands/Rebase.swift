import ArgumentParser
import Foundation
import OrchestrateCore

struct Rebase: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebase",
        abstract: "Move a revision no environment has applied onto another parent.",
        discussion: """
            Rewrites only the value of REV's `-- parent:` line; every other byte of the file stays. Refused when an \
            environment has applied REV (each is named), when the result would be invalid (a cycle, an unknown \
            revision, the root, a merge revision), and when an environment cannot be read, unless --force-unreachable.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The revision to move (an id or a unique prefix).") var revision: String
    @Option(name: .long, help: ArgumentHelp("The revision it should build on.", valueName: "parent")) var onto: String
    @Flag(name: .long, help: "Rebase even when some environments cannot be read (they are named in a warning).")
    var forceUnreachable = false

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let project = context.project
        let result = try Authoring.rebase(
            in: project, revision: revision, onto: onto, forceUnreachable: forceUnreachable,
            progress: Console.progress)
        if output.json {
            try Console.json(result)
            return .done
        }
        if result.rewritten {
            Console.out(
                "\(result.path): parent \(result.parent) (was \(result.previousParents.joined(separator: ", ")))")
        } else {
            Console.out("\(result.path): already builds on \(result.parent); nothing to do")
        }
        if result.heads.count > 1 {
            Console.err(
                Console.style("warning:", .yellow, forStderr: true)
                    + " migrations/ still has \(result.heads.count) heads (\(result.heads.joined(separator: ", "))): `orchestrate merge` joins them, or rebase another"
            )
        }
        return .done
    }
}
