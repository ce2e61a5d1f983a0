import Foundation
import Git

/// Symbolic links committed in `migrations/`: git stores a link as a blob holding its target path, which would parse
/// as a broken migration, so `check` names them as links instead (the commands that read the disk refuse a link
/// leading outside the project, see `ProjectFile`).
public enum CommittedLinks {
    /// Throws a usage error naming every symbolic link in HEAD's `migrations/` and the way out; returns quietly when
    /// there is none, or when git cannot be read (the caller's git errors say why).
    public static func refuse(projectRoot: String) throws(OrchestrateError) {
        guard let repository = try? Repository.discover(from: projectRoot),
            let head = try? repository.head().commit
        else { return }
        let prefix = GitProvenance.relativePrefix(projectRoot: projectRoot, workdir: repository.workdir)
        guard let entries = try? repository.files(in: head, directory: prefix + "migrations") else { return }
        let links = entries.filter { $0.isSymbolicLink && $0.path.lowercased().hasSuffix(".sql") }
        guard let first = links.first else { return }
        let described = links.map { link in
            let target = (try? repository.blobContents(link.blob)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            let outside = leavesProject(link: link.path, target: target, projectPrefix: prefix)
            return
                "\(link.path): is a symbolic link to \(target)\(outside ? ", outside the project" : ""), not a migration file"
        }
        throw .usage(
            described.joined(separator: "\n"),
            hint: "git stores the link, not the file, so check cannot read it and other machines do not have it: "
                + "commit the file itself (cp --remove-destination \"$(readlink -f \(first.path))\" \(first.path); git add \(first.path))"
        )
    }

    /// True when `target`, read from the folder of `link` (both repository-relative), is absolute or leaves the
    /// project folder `projectPrefix` (`""` for the repository root, else `dir/`).
    static func leavesProject(link: String, target: String, projectPrefix: String) -> Bool {
        guard !target.hasPrefix("/") else { return true }
        var components = link.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !components.isEmpty else { return true }
                components.removeLast()
            default: components.append(String(part))
            }
        }
        let projectDepth = projectPrefix.split(separator: "/").count
        return components.count <= projectDepth
            || !components.prefix(projectDepth).elementsEqual(projectPrefix.split(separator: "/").map(String.init))
    }
}
