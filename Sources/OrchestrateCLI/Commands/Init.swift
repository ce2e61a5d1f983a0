import ArgumentParser
import Foundation
import OrchestrateCore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Start a project: environments/ (dev, staging, production), migrations/, .env.example, .gitignore.",
        discussion: """
            dev and staging default to databases on the project's sandbox (a throwaway PostgreSQL under .orchestrate/), \
            so the project runs at once; DEV_DATABASE_URL and STAGING_DATABASE_URL point them elsewhere. production \
            promotes from staging, is protected, and needs PRODUCTION_DATABASE_URL. Adds `.orchestrate/` and `.env` to \
            .gitignore. Never overwrites a file: when one exists, nothing is written.
            """)

    @OptionGroup var output: OutputOptions
    @Argument(help: "The folder to start the project in (default: the working directory).") var directory: String?

    func run() throws {
        let cwd = FileManager.default.currentDirectoryPath
        let root = URL(fileURLWithPath: directory ?? ".", relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL
            .path
        let result = try Scaffold.initialize(at: root)
        if output.json { return try Console.json(result) }
        for path in result.written { Console.out("wrote \(path)") }
        if !result.gitignoreAdded.isEmpty {
            Console.out("added to .gitignore: \(result.gitignoreAdded.joined(separator: ", "))")
        }
        let inside = directory.map { "cd \($0) && " } ?? ""
        Console.out(
            "next: \(inside)orchestrate new -m \"create users\", write its SQL, then `orchestrate upgrade dev` and `orchestrate promote staging`"
        )
    }
}
