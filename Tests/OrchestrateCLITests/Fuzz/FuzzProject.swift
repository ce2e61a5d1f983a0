import Foundation
import TestSupport

/// The password every generated URL carries, valid or not; no output may ever hold it.
let fuzzPassword = "Fz9SecretPW"

/// Where generated environments point: a role whose password is `fuzzPassword` on the test server's 127.0.0.1
/// listener when there is one (scripts/test.sh), else a closed port on 127.0.0.1 (the run then fails to connect).
struct FuzzServer: Sendable {
    var port: Int
    var database: String
    var role = "orchestrate_fuzzer"
}

/// A generated project: its files as bytes (or a symbolic link), written to a temporary folder.
struct FuzzProject {
    enum Entry: Equatable {
        case file([UInt8])
        case link(String)
        case directory
    }

    var files: [String: Entry] = [:]
    var revisions: [String] = []
    var environments: [String] = []
    var mutations: [String] = []

    /// A valid-looking project: 1 to 6 revisions in a random graph (several roots, merges; sometimes a cycle,
    /// a missing parent or a self-parent), `dev` (and sometimes `staging` and a `broken` one with a malformed URL),
    /// a `.env` holding some URLs.
    static func generate(using rng: inout SeededGenerator, server: FuzzServer) -> FuzzProject {
        var project = FuzzProject()
        let count = Int.random(in: 1...6, using: &rng)
        let style = Int.random(in: 0..<3, using: &rng)
        let ids = (0..<count).map { index -> String in
            switch style {
            case 0: String(format: "%03d_step", index + 1)
            case 1: String(format: "%011llx", UInt64(index) << 36 | UInt64.random(in: 0..<(1 << 36), using: &rng))
            default: "V\(index + 1)__add_x"
            }
        }
        var parents: [String: [String]] = [:]
        for (index, id) in ids.enumerated() {
            if index == 0 || Double.random(in: 0..<1, using: &rng) < 0.1 {
                parents[id] = []
            } else if Double.random(in: 0..<1, using: &rng) < 0.7 {
                parents[id] = [ids[index - 1]]
            } else {
                parents[id] = Array(ids[..<index].shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))
            }
        }
        let defect = Double.random(in: 0..<1, using: &rng)
        if count > 1, defect < 0.1 {
            parents[ids[0]] = [ids[count - 1]]  // a cycle
        } else if defect < 0.15 {
            parents[ids.randomElement(using: &rng)!] = ["000_missing"]
        } else if defect < 0.2, let id = ids.randomElement(using: &rng) {
            parents[id] = [id]
        }
        for (index, id) in ids.enumerated() {
            var text = parents[id]!.isEmpty ? "" : "-- parent: \(parents[id]!.joined(separator: ", "))\n"
            let transactional = Double.random(in: 0..<1, using: &rng) > 0.15
            if !transactional { text += "-- transaction: false\n" }
            text += "-- migrate:up\nCREATE TABLE t_\(index) (id int, note text DEFAULT 'it''s -- not a comment');\n"
            if !transactional { text += "CREATE INDEX CONCURRENTLY t_\(index)_id ON t_\(index) (id);\n" }
            text += "-- migrate:down\nDROP TABLE t_\(index);\n"
            project.files["migrations/\(id).sql"] = .file(Array(text.utf8))
        }
        project.revisions = ids

        let urls = [
            "postgresql://\(server.role):\(fuzzPassword)@127.0.0.1:\(server.port)/\(server.database)?connect_timeout=3",
            "host=127.0.0.1 port=\(server.port) dbname=\(server.database) user=\(server.role) password=\(fuzzPassword)",
            "postgresql+psycopg2://\(server.role):\(fuzzPassword)@localhost:\(server.port)/\(server.database)",
            "postgresq://u:\(fuzzPassword)@127.0.0.1/db",
            "user:\(fuzzPassword)@host/db",
            "postgresql://u:\(fuzzPassword)@127.0.0.1:99999999999/db",
            "postgresql://u:\(fuzzPassword)@[::1/db",
            "host=127.0.0.1 password='\(fuzzPassword) dbname=x",
        ]
        var environments = ["dev"]
        if Bool.random(using: &rng) { environments.append("staging") }
        if Double.random(in: 0..<1, using: &rng) < 0.25 { environments.append("broken") }
        var dotEnv = "# local settings\n"
        for name in environments {
            let url =
                name == "broken"
                ? urls[3 + Int.random(in: 0..<5, using: &rng)]
                : urls[
                    Double.random(in: 0..<1, using: &rng) < 0.8
                        ? Int.random(in: 0..<3, using: &rng) : Int.random(in: 3..<urls.count, using: &rng)]
            var text = "# \(name)\n"
            if Bool.random(using: &rng) {
                let variable = "\(name.uppercased())_DATABASE_URL"
                text += "database_url = \"${\(variable)}\"\n"
                dotEnv +=
                    Bool.random(using: &rng) ? "export \(variable)=\"\(url)\"\n" : "\(variable)='\(url)'  # comment\n"
            } else {
                text += "database_url = \"\(url)\"\n"
            }
            if name == "staging" { text += "promotes_from = \"dev\"\n" }
            text += "connect_retries = 0\nlock_timeout = \"2s\"\nddl_lock_timeout = \"1.5s\"\n"
            project.files["environments/\(name).toml"] = .file(Array(text.utf8))
        }
        project.environments = environments
        project.files[".env"] = .file(Array(dotEnv.utf8))
        return project
    }

    /// The paths of regular files, sorted.
    var regularFiles: [String] {
        files.compactMap { path, entry in if case .file = entry { path } else { nil } }.sorted()
    }

    /// Applies `mutation` to the file at `path`.
    mutating func mutate(_ path: String, _ mutation: Mutation, using rng: inout SeededGenerator) {
        guard case .file(let bytes)? = files[path] else { return }
        files[path] = .file(mutation.apply(to: bytes, using: &rng))
        mutations.append("\(path): \(mutation)")
    }

    /// Applies 0 to 3 random damages: byte mutations, symbolic links (inside, outside, dangling, looping), odd names.
    mutating func mutateRandomly(using rng: inout SeededGenerator, outside: String) {
        for _ in 0..<[0, 1, 1, 1, 2, 2, 3].randomElement(using: &rng)! {
            let paths = regularFiles
            guard let path = paths.randomElement(using: &rng) else { return }
            let roll = Double.random(in: 0..<1, using: &rng)
            if roll < 0.8 {
                mutate(path, Mutation.allCases.randomElement(using: &rng)!, using: &rng)
            } else if roll < 0.9 {
                let name = (path as NSString).lastPathComponent
                let target = [outside, "does-not-exist.sql", name, "..", "../.env"].randomElement(using: &rng)!
                files[path] = .link(target)
                mutations.append("\(path): a symbolic link to \(target)")
            } else {
                let folder = (path as NSString).deletingLastPathComponent
                let name = (path as NSString).lastPathComponent
                let stem = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
                let renamed = [
                    stem + "." + ext.uppercased(), stem + "é." + ext, "-" + name, "🙂." + ext, name + "~",
                    String(repeating: "x", count: 240) + "." + ext,
                ].randomElement(using: &rng)!
                files[folder.isEmpty ? renamed : folder + "/" + renamed] = files.removeValue(forKey: path)
                mutations.append("\(path): renamed \(renamed)")
            }
        }
    }

    /// Writes the entries under `root` (replacing what was there).
    func write(to root: String) throws {
        let manager = FileManager.default
        for (path, entry) in files {
            let full = root + "/" + path
            try manager.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? manager.removeItem(atPath: full)
            switch entry {
            case .file(let bytes): try Data(bytes).write(to: URL(fileURLWithPath: full))
            case .link(let target): try manager.createSymbolicLink(atPath: full, withDestinationPath: target)
            case .directory: try manager.createDirectory(atPath: full, withIntermediateDirectories: true)
            }
        }
    }

    /// Words any refusal must contain one of: a path, a file name or a revision id of the project.
    var names: [String] {
        files.keys.flatMap { [$0, ($0 as NSString).lastPathComponent] } + revisions + [
            "migrations/", "environments/", ".env",
        ]
    }
}
