import Foundation
import Testing

@testable import KubeAPI

/// Loads manifest text under a fixed source name.
func load(_ text: String, source: String = "test.yaml") -> ManifestSet {
    ManifestLoader().load(text: text, source: source)
}

/// The rendered diagnostics of loading `text`.
func messages(_ text: String, source: String = "test.yaml") -> [String] {
    load(text, source: source).diagnostics.map(\.description)
}

/// Loads text that must hold exactly one valid object and returns the set for inspection.
func loadValid(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ManifestSet {
    let set = load(text)
    #expect(set.diagnostics.map(\.description) == [], sourceLocation: sourceLocation)
    #expect(set.objectCount == 1, sourceLocation: sourceLocation)
    return set
}

/// A fresh temporary directory, removed by the caller with `removeItem`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kubeapi-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension URL {
    /// Writes `text` to `name` inside this directory, creating intermediate directories.
    func write(_ text: String, to name: String) throws {
        let file = appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }
}
