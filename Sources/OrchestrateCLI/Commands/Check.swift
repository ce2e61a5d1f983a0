import ArgumentParser
import OrchestrateCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check HEAD against a base branch: valid graph, one head after merging, no released file changed.",
        discussion: """
            Compares HEAD with merge-base(HEAD, REF), reading git history (no database unless --env): \
            1) HEAD's migrations parse and form a valid graph; 2) HEAD's and REF's migrations together have one head; \
            3) no file that exists at the merge base is edited, renamed or deleted on HEAD's side (line endings and a BOM \
            do not count). With --env, also fails on revisions those environments applied whose file changed since. \
            Check reads commits: uncommitted changes are not checked. \
            --base defaults to the repository's default branch: GITHUB_BASE_REF in a pull-request workflow, else where \
            origin/HEAD points, else origin/main, main, origin/master or master; a notice says which was chosen. \
            Exit codes: 0 clean; 1 findings; 2 bad usage or an invalid migration file at HEAD; 3 git or database failure \
            (a shallow clone without the merge base, another user's repository, an unknown base).
            """)

    /// How findings are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case human, json, github
    }

    @OptionGroup var global: GlobalOptions
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The branch to compare with (default: GITHUB_BASE_REF, else origin/HEAD, else main or master).",
            valueName: "ref"))
    var base: String?
    @Option(name: .long, help: "human, json, or github (workflow annotations).") var format: Format?
    @Flag(name: .long, help: "Same as --format json.") var json = false
    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp(
            "Also fail on revisions these environments applied whose file changed since.", valueName: "env"))
    var env: [String] = []

    func validate() throws {
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) contradict each other; give one of them")
        }
    }

    func run() throws {
        let root = try global.projectRoot()
        var ledgers: [(environment: String, entries: [LedgerEntry])] = []
        if !env.isEmpty {
            let project = try global.loadProject()
            ledgers = try Inspector(project: project, interruptions: .process, progress: Console.progress)
                .ledgerEntries(env)
        }
        try CommittedLinks.refuse(projectRoot: root)
        let report = try PullRequestChecker.run(
            projectRoot: root, base: base, ledgers: ledgers, progress: Console.progress)
        switch json ? .json : format ?? .human {
        case .json: try Console.json(report)
        case .github: renderGitHub(report)
        case .human: renderHuman(report)
        }
        // The most severe finding decides: an invalid file, else any broken rule.
        if report.findings.contains(where: { $0.kind.isInvalidFile }) {
            return try CommandOutcome.invalidInput.finish()
        }
        if !report.findings.isEmpty { return try CommandOutcome.checkFailed.finish() }
    }

    private func summary(_ report: CheckReport) -> String {
        let head = "HEAD (" + (report.head.branch.map { "\($0) " } ?? "") + report.head.commit.prefix(7) + ")"
        return
            "\(head) against \(report.base.ref) (\(report.base.commit.prefix(7))), merge base \(report.mergeBase.prefix(7))"
    }

    private func renderHuman(_ report: CheckReport) {
        guard !report.findings.isEmpty else {
            var text =
                "\(summary(report)): \(report.revisions) revisions, one head after merging, no released file changed"
            if !report.environments.isEmpty {
                text += ", nothing \(report.environments.joined(separator: ", ")) applied was changed"
            }
            Console.out(Console.style("ok:", .green) + " " + text)
            return
        }
        for finding in report.findings {
            var location = ""
            if let file = finding.file, !finding.message.hasPrefix(file) {
                location = file + (finding.line.map { ":\($0)" } ?? "") + ": "
            }
            Console.out(Console.style("✗", .red) + " " + location + finding.message)
            Console.out("  " + Console.style("fix:", .cyan) + " " + finding.fix)
        }
        let count = report.findings.count
        Console.out("\(count) problem\(count == 1 ? "" : "s"): \(summary(report))")
    }

    /// GitHub workflow commands: `::error file=F,line=L,title=T::MESSAGE`, escaped as the runner expects.
    private func renderGitHub(_ report: CheckReport) {
        for finding in report.findings {
            var properties: [String] = []
            if let file = finding.file { properties.append("file=" + Self.escapeProperty(file)) }
            if let line = finding.line { properties.append("line=\(line)") }
            properties.append("title=" + Self.escapeProperty("orchestrate check: \(finding.kind.rawValue)"))
            Console.out(
                "::error \(properties.joined(separator: ","))::"
                    + Self.escapeData("\(finding.message) — fix: \(finding.fix)"))
        }
        Console.out(
            report.findings.isEmpty
                ? "orchestrate check: ok: \(summary(report))"
                : "orchestrate check: \(report.findings.count) problem(s): \(summary(report))")
    }

    static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
