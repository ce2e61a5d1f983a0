import ArgumentParser
import Foundation
import OrchestrateCore

extension ForeignTool: ExpressibleByArgument {}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write migrations/ from another tool's layout: alembic, flyway, dbmate, golang-migrate, goose.",
        discussion: """
            Each revision keeps its identity (Alembic's ids and graph; the other tools' file stems, chained in version \
            order). PATH is the alembic.ini (default ./alembic.ini) or its script folder; for the other tools, the folder \
            holding the migrations (default: flyway sql/ or db/migration/, the others db/migrations/). Alembic's SQL \
            comes from the project's own env.py in offline mode (`alembic upgrade --sql`), so its env.py must run \
            offline with a PostgreSQL URL and no connection. Never overwrites a file: when one exists, nothing is \
            written. Revisions written with an empty up section (SQL that could not be converted) refuse to apply until \
            filled in; the report lists them.
            """)

    @OptionGroup var output: OutputOptions
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The project folder to write migrations/ in (default: the project found from the working directory, else the working directory).",
            valueName: "dir"))
    var project: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The Alembic command (default: alembic on PATH), such as .venv/bin/alembic.", valueName: "cmd"))
    var alembic = "alembic"
    @Argument(
        help: ArgumentHelp(
            "The tool: \(ForeignTool.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "tool"))
    var tool: ForeignTool
    @Argument(help: "The alembic.ini or script folder (alembic), or the migrations folder (the others).")
    var path: String?

    func run() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let root =
            project.map { URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path }
            ?? ((try? Project.locateRoot(from: cwd, explicit: nil)) ?? cwd)
        let report = try ForeignImport.run(
            tool, path: path, directory: cwd, root: root, alembic: alembic,
            environment: ProcessInfo.processInfo.environment)
        if output.json { return try Console.json(report) }
        for line in ImportPrinter.lines(report) { Console.out(line) }
    }
}
