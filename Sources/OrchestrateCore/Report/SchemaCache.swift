import Foundation
import Migrations

/// The schemas replayed on scratch databases, kept in `.orchestrate/cache/` (which `orchestrate init` puts in
/// `.gitignore`) so that a second `diff`, `status --drift` or `new --from-…` over the same revisions does not replay
/// them again.
///
/// An entry is keyed by the revisions replayed, in order, each with its checksum, transaction mode and a hash of the
/// up SQL that ran: any change to what would run is another key. The entry holds the format version and its key, and
/// is used only when both match and it decodes; anything else (a truncated file, another format, a file renamed by
/// hand) is ignored, said, and rewritten after a replay. Entries are written to a temporary file and renamed, so a
/// reader never sees half an entry.
struct SchemaCache {
    /// Raised when the entry's layout or the model's meaning changes: older entries are then ignored.
    static let formatVersion = 1
    /// How many entries are kept: each upgrade of an environment makes a new applied set, so older entries are
    /// removed, least recently written first.
    static let keptEntries = 16

    /// `<project>/.orchestrate/cache`.
    let directory: String

    init(projectRoot: String) {
        directory = projectRoot + "/.orchestrate/cache"
    }

    /// What is stored.
    struct Entry: Codable {
        var format: Int
        var key: String
        /// The revisions replayed, in order (for a reader of the file).
        var revisions: [String]
        var model: SchemaModel
    }

    /// The result of a lookup.
    enum Lookup {
        case hit(SchemaModel)
        /// No entry for the key.
        case miss
        /// An entry that cannot be trusted, and why.
        case unusable(String)
    }

    /// The key of replaying `files` in this order. Pure.
    static func key(of files: [MigrationFile]) -> String {
        var text = "orchestrate schema cache \(formatVersion)\n"
        for file in files {
            let up = Checksum.sha256Hex(normalizing: Array(file.up.utf8))
            text += "\(file.revision)\u{1F}\(file.checksum)\u{1F}\(file.transactional)\u{1F}\(up)\n"
        }
        return Checksum.sha256Hex(normalizing: Array(text.utf8))
    }

    /// The entry's file, relative to the project (for display) and absolute.
    func path(key: String) -> String { directory + "/schema-\(key.prefix(32)).json" }

    /// `.orchestrate/cache/schema-<key>.json`, for display.
    static func displayPath(key: String) -> String { ".orchestrate/cache/schema-\(key.prefix(32)).json" }

    /// Reads the entry for `key`.
    func load(key: String) -> Lookup {
        let file = path(key: key)
        guard FileManager.default.fileExists(atPath: file) else { return .miss }
        guard let data = FileManager.default.contents(atPath: file) else {
            return .unusable("it cannot be read")
        }
        // The format is read first on its own, so that an entry of another format is named as such.
        struct Header: Decodable { var format: Int?; var key: String? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            return .unusable("it is not a cache entry (not valid JSON)")
        }
        guard header.format == Self.formatVersion else {
            return .unusable("its format is \(header.format.map(String.init) ?? "missing"), not \(Self.formatVersion)")
        }
        guard header.key == key else { return .unusable("its key does not match its name") }
        guard let entry = try? JSONDecoder().decode(Entry.self, from: data) else {
            return .unusable("its schema cannot be decoded")
        }
        return .hit(entry.model)
    }

    /// Writes the entry for `key`; returns why it could not, if it could not (the cache is an optimisation: a
    /// failure to write it never fails the command).
    func store(_ model: SchemaModel, key: String, revisions: [String]) -> String? {
        let entry = Entry(format: Self.formatVersion, key: key, revisions: revisions, model: model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let final = path(key: key)
        let temporary = final + ".\(getpid()).tmp"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try encoder.encode(entry).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, final) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: temporary)
                return reason
            }
            prune(keeping: final)
            return nil
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            return error.localizedDescription
        }
    }

    /// Removes all but the `keptEntries` most recently written entries (never `kept`, the one just written).
    private func prune(keeping kept: String) {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return }
        let entries = names.filter { $0.hasPrefix("schema-") && $0.hasSuffix(".json") }.map { directory + "/" + $0 }
        guard entries.count > Self.keptEntries else { return }
        let dated = entries.map { path in
            (path, (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast)
        }
        let oldestFirst = dated.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0).filter { $0 != kept }
        for path in oldestFirst.prefix(entries.count - Self.keptEntries) { try? manager.removeItem(atPath: path) }
    }
}
