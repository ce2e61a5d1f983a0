import ArgumentParser
import OrchestrateCore

struct History: ProjectCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The revisions, newest first: id, parents, message, and who added each one in which commit and when.",
        discussion: """
            Like `alembic history`. The message is the revision's leading comment, else the slug of its id. Who added a \
            revision, in which commit and when, comes from git (the commit that added its file); it is "not committed" for \
            a file git does not have yet. With --env, each revision is marked applied or pending in that environment \
            (read-only).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("Mark which revisions this environment runs.", valueName: "env"))
    var env: String?

    func execute(_ context: CommandContext) throws -> CommandOutcome {
        let report = try context.inspector.history(environment: env)
        if output.json {
            try Console.json(report)
            return .done
        }
        if report.revisions.isEmpty {
            Console.out("no revision yet: `orchestrate new MESSAGE` writes the first one")
            return .done
        }
        for entry in report.revisions {
            var title = Console.style(entry.revision, .bold)
            if entry.isHead { title += " (head)" }
            if let applied = entry.applied, let env = report.environment {
                title +=
                    "  "
                    + (applied
                        ? Console.style(
                            entry.baselined == true ? "applied in \(env) (by baseline)" : "applied in \(env)", .green)
                        : Console.style("pending in \(env)", .yellow))
            }
            Console.out(title)
            if let message = entry.message { Console.out("    \(message)") }
            var facts = [
                entry.parents.isEmpty
                    ? "a root"
                    : (entry.parents.count > 1 ? "merges " : "parent ") + entry.parents.joined(separator: ", ")
            ]
            if let commit = entry.addedBy {
                facts.append("added in \(commit.shortSHA) by \(commit.author) on \(commit.time.prefix(10))")
            } else {
                facts.append(
                    report.gitAvailable
                        ? "not in git history (not committed yet, or older than a shallow clone)"
                        : "who added it is unknown (no git repository)")
            }
            Console.out("    " + facts.joined(separator: "; "))
        }
        return .done
    }
}
