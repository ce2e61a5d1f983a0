import Foundation
import Migrations

/// A user's project: the root folder, its environments and its migrations (DESIGN §1).
public struct Project: Sendable {
    /// The absolute path of the folder holding `environments/`.
    public var root: String
    /// Environments that parsed, by name.
    public var environments: [String: EnvironmentConfig]
    /// Environments whose file failed to parse, with the error.
    public var brokenEnvironments: [String: OrchestrateError]
    /// Broken environments whose place in the pipeline is unknown (not even `promotes_from` could be read); the
    /// others keep their place, with the source their file names.
    public var stagesOfUnknownPlace: Set<String> = []
    /// The pipeline over the environments that parsed; nil when it is invalid (see `pipelineError`).
    public var pipeline: Pipeline?
    /// Why the pipeline is invalid, if it is.
    public var pipelineError: OrchestrateError?
    /// The variable sources used for `${VAR}`.
    public var variables: VariableExpander
    /// The `.env` file read for `${VAR}` (absolute), nil when there is none.
    public var dotEnvFile: String?
    /// The folders looked in for `.env`, nearest first (for `doctor` to say where it looked).
    public var dotEnvSearched: [String] = []

    /// Where `.env` is: the project root's, else the nearest one above it inside the same git repository (a project
    /// in `backend/` of a repository whose `.env` sits at the top, or the other way round). Outside a repository only
    /// the root is looked in. `attributesOfItem` does not follow links: a link to nothing is found, and reported.
    static func dotEnvSearch(root: String) -> (found: String?, searched: [String]) {
        let fileManager = FileManager.default
        var searched: [String] = []
        var folder = URL(fileURLWithPath: root).standardizedFileURL
        // Only climb inside a repository: find its top first.
        var top: String?
        var probe = folder
        while true {
            if fileManager.fileExists(atPath: probe.path + "/.git") { top = probe.path; break }
            let parent = probe.deletingLastPathComponent()
            if parent.path == probe.path { break }
            probe = parent
        }
        while true {
            searched.append(folder.path)
            let candidate = folder.path + "/.env"
            if (try? fileManager.attributesOfItem(atPath: candidate)) != nil { return (candidate, searched) }
            guard let top, folder.path != top else { break }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        return (nil, searched)
    }

    /// `path` relative to `root` when inside it (`.env`), else relative with `..` (`../.env`).
    static func displayPath(_ path: String, root: String) -> String {
        let rootParts = URL(fileURLWithPath: root).standardizedFileURL.pathComponents
        let parts = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var common = 0
        while common < min(rootParts.count, parts.count), rootParts[common] == parts[common] { common += 1 }
        let ups = Array(repeating: "..", count: rootParts.count - common)
        return (ups + parts[common...]).joined(separator: "/")
    }

    /// `root/migrations`.
    public var migrationsDirectory: String { root + "/migrations" }

    /// Finds the project root: `explicit` if given, else the first folder from `directory` upward that holds
    /// `environments/`.
    public static func locateRoot(from directory: String, explicit: String?) throws(OrchestrateError) -> String {
        let fileManager = FileManager.default
        if let explicit {
            let absolute = URL(fileURLWithPath: explicit, relativeTo: URL(fileURLWithPath: directory))
                .standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: absolute + "/environments", isDirectory: &isDirectory),
                isDirectory.boolValue
            else {
                throw .usage(
                    "--project \(explicit): \(absolute) has no environments/ folder",
                    hint: "point --project at the folder that holds environments/ and migrations/")
            }
            return absolute
        }
        var current = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: current.path + "/environments", isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                return current.path
            }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { break }
            current = parent
        }
        throw .usage(
            "no orchestrate project here: no environments/ folder in \(directory) or any folder above it",
            hint: "run from inside a project, pass --project DIR, or create environments/dev.toml")
    }

    /// Loads the environments of the project at `root`, expanding variables from `processEnvironment` then `.env`.
    public static func load(root: String, processEnvironment: [String: String]) throws(OrchestrateError) -> Project {
        let fileManager = FileManager.default
        var dotEnv: [String: String] = [:]
        let search = dotEnvSearch(root: root)
        if let found = search.found {
            // .env may be a link to a secrets file kept outside the project: it is not a file git should hold.
            let display = displayPath(found, root: root)
            let text = try ProjectFile.readText(found, display: display, root: root, linksMayLeave: true)
            dotEnv = try DotEnv.parse(text, path: display)
        }
        let expander = VariableExpander(
            environment: processEnvironment, dotEnv: dotEnv,
            dotEnvPath: search.found.map { displayPath($0, root: root) } ?? ".env")
        let names: [String]
        do {
            names = try fileManager.contentsOfDirectory(atPath: root + "/environments")
        } catch {
            throw .usage("environments/: cannot be listed: \(error.localizedDescription)")
        }
        var environments: [String: EnvironmentConfig] = [:]
        var broken: [String: OrchestrateError] = [:]
        var brokenStages: [Pipeline.Stage] = []
        var unknownPlace = Set<String>()
        for file in names.sorted() where file.hasSuffix(".toml") {
            let name = String(file.dropLast(".toml".count))
            let path = "environments/\(file)"
            do {
                guard !name.hasPrefix("-") else {
                    throw OrchestrateError.usage(
                        "\(path): `\(name)` cannot be an environment name: it starts with `-`, which the command line reads as an option",
                        hint: "rename the file so that its name starts with a letter or a digit")
                }
                guard isValidEnvironmentName(name) else {
                    throw OrchestrateError.usage(
                        "\(path): `\(name)` is not a valid environment name",
                        hint: "use letters, digits, `_` and `-`")
                }
                let text = try ProjectFile.readText(root + "/" + path, display: path, root: root)
                environments[name] = try EnvironmentConfig.parse(name: name, path: path, text: text, expander: expander)
            } catch let error as OrchestrateError {
                broken[name] = error
            } catch {
                broken[name] = .usage("\(path): \(error)")
            }
            if broken[name] != nil, isValidEnvironmentName(name) {
                // A broken file is still a stage of the pipeline: keep its place when its source can be read.
                if let text = try? ProjectFile.readText(root + "/" + path, display: path, root: root),
                    let source = EnvironmentConfig.salvagedSource(text: text, path: path, expander: expander)
                {
                    brokenStages.append(Pipeline.Stage(name: name, path: path, promotesFrom: source))
                } else {
                    brokenStages.append(Pipeline.Stage(name: name, path: path, promotesFrom: nil))
                    unknownPlace.insert(name)
                }
            }
        }
        var project = Project(
            root: root, environments: environments, brokenEnvironments: broken,
            pipeline: nil, pipelineError: nil, variables: expander)
        project.dotEnvFile = search.found
        project.dotEnvSearched = search.searched
        project.stagesOfUnknownPlace = unknownPlace
        let stages = environments.values.map {
            Pipeline.Stage(name: $0.name, path: $0.path, promotesFrom: $0.promotesFrom)
        }
        do {
            project.pipeline = try Pipeline(stages: stages + brokenStages)
        } catch {
            project.pipelineError = error
        }
        return project
    }

    static func isValidEnvironmentName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0 == "_" || $0 == "-" || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                    || ("0"..."9").contains($0)
            }
    }

    /// All environment names, valid or not, in pipeline order where known (broken files of unknown place last).
    public var environmentNames: [String] {
        let ordered = (pipeline?.order ?? environments.keys.sorted()).filter { !stagesOfUnknownPlace.contains($0) }
        return ordered + brokenEnvironments.keys.sorted().filter { !ordered.contains($0) }
    }

    /// The valid pipeline, or its error.
    public func validPipeline() throws(OrchestrateError) -> Pipeline {
        if let pipeline { return pipeline }
        throw pipelineError ?? .usage("the pipeline is invalid")
    }

    /// The environment called `name`, or the error that explains why it cannot be used.
    public func environment(_ name: String) throws(OrchestrateError) -> EnvironmentConfig {
        if let error = brokenEnvironments[name] { throw error }
        guard let environment = environments[name] else {
            let known = environmentNames
            throw .usage(
                "unknown environment `\(name)`: there is no environments/\(name).toml",
                hint: known.isEmpty
                    ? "create environments/\(name).toml" : "environments are: \(known.joined(separator: ", "))")
        }
        return environment
    }

    /// Reads and validates `migrations/`.
    public func loadMigrations() throws(OrchestrateError) -> MigrationSet {
        try MigrationSet.load(directory: migrationsDirectory, displayPrefix: "migrations/")
    }
}
