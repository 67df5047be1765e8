import Testing

/// Creates one ``TestNamespace`` per label, runs `body` with them (in label order) and deletes them all when
/// `body` returns or throws.
///
/// This is the preferred way for a test to get namespaces: cleanup cannot be forgotten or skipped by a failing
/// `#require`. A namespace that cannot be deleted is recorded as a test issue (it would leak into the host), and an
/// error thrown by `body` is rethrown unchanged.
@discardableResult
public func withTestNamespaces<T>(
    _ labels: String...,
    isolation: isolated (any Actor)? = #isolation,
    body: ([TestNamespace]) async throws -> T
) async throws -> T {
    try await withTestNamespaces(labels, body: body)
}

/// The form of ``withTestNamespaces(_:isolation:body:)`` that takes the labels as an array, for helpers whose
/// number of namespaces is decided at run time (one per pod of a topology).
@discardableResult
public func withTestNamespaces<T>(
    _ labels: [String],
    isolation: isolated (any Actor)? = #isolation,
    body: ([TestNamespace]) async throws -> T
) async throws -> T {
    let namespaces = try makeTestNamespaces(labels)
    defer { deleteTestNamespaces(namespaces) }
    return try await body(namespaces)
}

/// The synchronous form of ``withTestNamespaces(_:isolation:body:)``, for tests that never `await`.
@discardableResult
public func withTestNamespaces<T>(_ labels: String..., body: ([TestNamespace]) throws -> T) throws -> T {
    try withTestNamespaces(labels, body: body)
}

/// The synchronous form of the array-taking ``withTestNamespaces(_:isolation:body:)``, for tests that never `await`.
@discardableResult
public func withTestNamespaces<T>(_ labels: [String], body: ([TestNamespace]) throws -> T) throws -> T {
    let namespaces = try makeTestNamespaces(labels)
    defer { deleteTestNamespaces(namespaces) }
    return try body(namespaces)
}

/// Creates all or nothing: when one fails, the ones already made are deleted before the error is rethrown.
private func makeTestNamespaces(_ labels: [String]) throws -> [TestNamespace] {
    var namespaces: [TestNamespace] = []
    do {
        for label in labels {
            namespaces.append(try TestNamespace.make(label))
        }
        return namespaces
    } catch {
        deleteTestNamespaces(namespaces)
        throw error
    }
}

private func deleteTestNamespaces(_ namespaces: [TestNamespace]) {
    for namespace in namespaces {
        do {
            try namespace.delete()
        } catch {
            Issue.record("could not delete test namespace \(namespace.name): \(error)")
        }
    }
}
