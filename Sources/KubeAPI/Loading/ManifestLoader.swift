import Foundation
import Yams

/// Loads Kubernetes manifests — YAML streams (`---`), JSON, `List` and `*List` documents, files or
/// whole directory trees — into a `ManifestSet` of validated objects.
///
/// A manifest directory is the embedded source of truth for `sluiced`, and one typo must not take a
/// node's data plane down: every problem becomes a `ManifestDiagnostic` naming file, document, kind,
/// object and field, the offending document or object is skipped, and everything else loads.
/// Namespaced objects without a namespace get `default`, as `kubectl apply` would give them.
/// An object that appears twice (same kind, namespace and name) keeps its first definition.
public struct ManifestLoader: Sendable {
    /// File extensions read when walking a directory.
    public static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]

    public init() {}

    /// Loads files and directories in the given order. Directories are walked recursively in
    /// sorted order, reading only `.yaml`, `.yml` and `.json` files and skipping entries whose name
    /// starts with `.` (ConfigMap volumes keep a second copy of every file under `..data`).
    /// A file named explicitly is read whatever its extension.
    public func load(paths: [String]) -> ManifestSet {
        var session = LoadSession()
        for path in paths {
            session.loadPath(path)
        }
        return session.result
    }

    public func load(path: String) -> ManifestSet {
        load(paths: [path])
    }

    /// Loads manifest text (YAML or JSON) that did not come from a file; `source` names it in diagnostics.
    public func load(text: String, source: String) -> ManifestSet {
        var session = LoadSession()
        session.loadText(text, source: source)
        return session.result
    }

    /// Loads UTF-8 manifest bytes; `source` names them in diagnostics.
    public func load(data: Data, source: String) -> ManifestSet {
        var session = LoadSession()
        session.loadData(data, source: source)
        return session.result
    }
}

/// Where in the input an object was found.
private struct ManifestLocation: CustomStringConvertible {
    var source: String
    var document: Int
    var listItem: Int?

    var description: String {
        "\(source) doc \(document)" + (listItem.map { " items[\($0)]" } ?? "")
    }
}

/// The state of one `load` call: the result so far, and where each object was first defined.
private struct LoadSession {
    var result = ManifestSet()
    private var firstDefinitions: [String: ManifestLocation] = [:]
    private var visitedDirectories: Set<String> = []

    // MARK: - Files

    mutating func loadPath(_ path: String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            report(.error, source: path, message: "no such file or directory")
            return
        }
        if isDirectory.boolValue {
            for file in manifestFiles(in: path) {
                loadFile(file)
            }
        } else {
            loadFile(path)
        }
    }

    private mutating func manifestFiles(in directory: String) -> [String] {
        let canonical = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        guard visitedDirectories.insert(canonical).inserted else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            report(.error, source: directory, message: "could not list the directory: \(error.localizedDescription)")
            return []
        }
        var files: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                files += manifestFiles(in: path)
            } else if let dot = name.lastIndex(of: "."),
                ManifestLoader.manifestExtensions.contains(name[name.index(after: dot)...].lowercased())
            {
                files.append(path)
            }
        }
        return files
    }

    private mutating func loadFile(_ path: String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            report(.error, source: path, message: "could not read the file")
            return
        }
        loadData(data, source: path)
    }

    mutating func loadData(_ data: Data, source: String) {
        guard let text = String(data: data, encoding: .utf8) else {
            report(.error, source: source, message: "is not UTF-8 text")
            return
        }
        loadText(text, source: source)
    }

    // MARK: - Documents

    mutating func loadText(_ text: String, source: String) {
        var documentNumber = 0
        for document in YAMLDocumentText.split(text) {
            let root: Yams.Node?
            do {
                root = try document.parse()
            } catch {
                documentNumber += 1
                let syntaxError = YAMLSyntaxError(error, documentFirstLine: document.firstLine)
                report(
                    .error, source: source, document: documentNumber, line: syntaxError.line,
                    column: syntaxError.column, message: "syntax error: \(syntaxError.message)")
                continue
            }
            guard let root else { continue }
            documentNumber += 1
            loadDocument(root, at: ManifestLocation(source: source, document: documentNumber))
        }
    }

    private mutating func loadDocument(_ root: Yams.Node, at location: ManifestLocation) {
        guard case .mapping(let mapping) = root else {
            report(.error, at: location, message: "expected an object, found \(describe(root))")
            return
        }
        let kind = mapping.string("kind")
        if let kind, kind.hasSuffix("List") {
            loadList(mapping, kind: kind, at: location)
        } else {
            loadObject(mapping, apiVersion: mapping.string("apiVersion"), kind: kind, at: location)
        }
    }

    /// `kind: List` holds objects of any kind; `ServiceList` and friends hold one kind, whose items
    /// may omit `apiVersion` and `kind` (as the API server's list responses do).
    private mutating func loadList(_ mapping: Yams.Node.Mapping, kind: String, at location: ManifestLocation) {
        let apiVersion = mapping.string("apiVersion") ?? ""
        let itemKind = kind == "List" ? nil : String(kind.dropLast(4))
        if let itemKind {
            guard let apiVersions = Self.apiVersions(ofKind: itemKind) else {
                report(
                    .warning, at: location, kind: kind,
                    message: "kind \(kind) (\(apiVersion)) is not used by Sluice; skipped")
                return
            }
            guard apiVersions.contains(apiVersion) else {
                reportWrongAPIVersion(apiVersion, kind: kind, expected: apiVersions, at: location, objectName: nil)
                return
            }
        } else if apiVersion != "v1" {
            reportWrongAPIVersion(apiVersion, kind: kind, expected: ["v1"], at: location, objectName: nil)
            return
        }
        guard let itemsNode = mapping.value("items"), !isNull(itemsNode) else { return }
        guard case .sequence(let items) = itemsNode else {
            report(
                .error, at: location, kind: kind, field: "items",
                message: "expected a list, found \(describe(itemsNode))")
            return
        }
        for (position, item) in items.enumerated() {
            var itemLocation = location
            itemLocation.listItem = position
            guard case .mapping(let itemMapping) = item else {
                report(.error, at: itemLocation, message: "expected an object, found \(describe(item))")
                continue
            }
            let ownKind = itemMapping.string("kind")
            if let ownKind, ownKind.hasSuffix("List") {
                report(.error, at: itemLocation, kind: ownKind, message: "a list inside a list is not supported")
                continue
            }
            let ownAPIVersion = itemMapping.string("apiVersion") ?? (itemKind == nil ? nil : apiVersion)
            loadObject(itemMapping, apiVersion: ownAPIVersion, kind: ownKind ?? itemKind, at: itemLocation)
        }
    }

    private mutating func loadObject(
        _ mapping: Yams.Node.Mapping, apiVersion: String?, kind: String?, at location: ManifestLocation
    ) {
        guard let kind, !kind.isEmpty else {
            report(.error, at: location, field: "kind", message: "required")
            return
        }
        let object = Yams.Node.mapping(mapping)
        switch kind {
        case Service.kind: load(Service.self, object, apiVersion: apiVersion, at: location, into: \.services)
        case Endpoints.kind: load(Endpoints.self, object, apiVersion: apiVersion, at: location, into: \.endpoints)
        case EndpointSlice.kind:
            load(EndpointSlice.self, object, apiVersion: apiVersion, at: location, into: \.endpointSlices)
        case Pod.kind: load(Pod.self, object, apiVersion: apiVersion, at: location, into: \.pods)
        case Namespace.kind: load(Namespace.self, object, apiVersion: apiVersion, at: location, into: \.namespaces)
        case Node.kind: load(Node.self, object, apiVersion: apiVersion, at: location, into: \.nodes)
        case Secret.kind: load(Secret.self, object, apiVersion: apiVersion, at: location, into: \.secrets)
        case NetworkPolicy.kind:
            load(NetworkPolicy.self, object, apiVersion: apiVersion, at: location, into: \.networkPolicies)
        case Ingress.kind: load(Ingress.self, object, apiVersion: apiVersion, at: location, into: \.ingresses)
        case IngressClass.kind:
            load(IngressClass.self, object, apiVersion: apiVersion, at: location, into: \.ingressClasses)
        case GatewayClass.kind:
            load(GatewayClass.self, object, apiVersion: apiVersion, at: location, into: \.gatewayClasses)
        case Gateway.kind: load(Gateway.self, object, apiVersion: apiVersion, at: location, into: \.gateways)
        case HTTPRoute.kind: load(HTTPRoute.self, object, apiVersion: apiVersion, at: location, into: \.httpRoutes)
        case ReferenceGrant.kind:
            load(ReferenceGrant.self, object, apiVersion: apiVersion, at: location, into: \.referenceGrants)
        default:
            let metadata = mapping.value("metadata")?.mapping
            let name = metadata?.string("name") ?? "(unnamed)"
            let objectName = metadata?.string("namespace").map { "\($0)/\(name)" } ?? name
            report(
                .warning, at: location, kind: kind, objectName: objectName,
                message: "kind \(kind) (\(apiVersion ?? "no apiVersion")) is not used by Sluice; skipped")
        }
    }

    /// The accepted `apiVersion`s of a kind the loader knows, for `*List` documents.
    private static func apiVersions(ofKind kind: String) -> [String]? {
        let kinds: [any KubernetesObject.Type] = [
            Service.self, Endpoints.self, EndpointSlice.self, Pod.self, Namespace.self, Node.self, Secret.self,
            NetworkPolicy.self, Ingress.self, IngressClass.self, GatewayClass.self, Gateway.self, HTTPRoute.self,
            ReferenceGrant.self,
        ]
        return kinds.first { $0.kind == kind }?.apiVersions
    }

    private mutating func load<Object: KubernetesObject>(
        _ type: Object.Type, _ node: Yams.Node, apiVersion: String?, at location: ManifestLocation,
        into objects: WritableKeyPath<ManifestSet, [Object]>
    ) {
        let metadata = node.mapping?.value("metadata")?.mapping
        let name = metadata?.string("name") ?? ""
        let writtenNamespace = metadata?.string("namespace") ?? ""
        let namespace = !Object.isNamespaced ? "" : writtenNamespace.isEmpty ? "default" : writtenNamespace
        let displayName = name.isEmpty ? "(unnamed)" : name
        let objectName = Object.isNamespaced ? "\(namespace)/\(displayName)" : displayName

        guard let apiVersion, !apiVersion.isEmpty else {
            report(
                .error, at: location, kind: Object.kind, objectName: objectName, field: "apiVersion",
                message: "required")
            return
        }
        guard Object.apiVersions.contains(apiVersion) else {
            reportWrongAPIVersion(
                apiVersion, kind: Object.kind, expected: Object.apiVersions, at: location, objectName: objectName)
            return
        }
        var object: Object
        switch NodeDecoder.decode(Object.self, from: node) {
        case .success(let decoded):
            object = decoded
        case .failure(let failure):
            for error in failure.errors {
                let fieldError = FieldError(error)
                report(
                    .error, at: location, kind: Object.kind, objectName: objectName, field: fieldError.path,
                    message: fieldError.message)
            }
            return
        }
        object.metadata.namespace = namespace
        let errors = object.validate()
        guard errors.isEmpty else {
            for error in errors {
                report(
                    .error, at: location, kind: Object.kind, objectName: objectName, field: error.path,
                    message: error.message)
            }
            if let policy = object as? NetworkPolicy { result.invalidNetworkPolicies.append(policy) }
            return
        }
        let identity = "\(Object.kind)/\(namespace)/\(name)"
        if let first = firstDefinitions[identity] {
            report(
                .error, at: location, kind: Object.kind, objectName: objectName,
                message: "already defined in \(first); this definition is skipped")
            return
        }
        firstDefinitions[identity] = location
        result[keyPath: objects].append(object)
    }

    // MARK: - Diagnostics

    private mutating func reportWrongAPIVersion(
        _ apiVersion: String, kind: String, expected: [String], at location: ManifestLocation, objectName: String?
    ) {
        let accepted = expected.joined(separator: " or ")
        report(
            .error, at: location, kind: kind, objectName: objectName, field: "apiVersion",
            message: "\"\(apiVersion)\" is not an apiVersion of \(kind) (expected \(accepted))")
    }

    private mutating func report(
        _ severity: ManifestDiagnostic.Severity, at location: ManifestLocation, kind: String? = nil,
        objectName: String? = nil, field: FieldPath? = nil, message: String
    ) {
        result.diagnostics.append(
            ManifestDiagnostic(
                severity: severity, source: location.source, document: location.document, listItem: location.listItem,
                kind: kind, objectName: objectName, field: field, message: message))
    }

    private mutating func report(
        _ severity: ManifestDiagnostic.Severity, source: String, document: Int? = nil, line: Int? = nil,
        column: Int? = nil, message: String
    ) {
        result.diagnostics.append(
            ManifestDiagnostic(
                severity: severity, source: source, document: document, line: line, column: column, message: message))
    }
}

extension Yams.Node.Mapping {
    /// The value under a plain string key, compared by text alone (Yams' own subscript resolves
    /// tags with regular expressions, which is slow and unnecessary here).
    func value(_ key: String) -> Yams.Node? {
        first { $0.key.scalar?.string == key }?.value
    }

    /// The text of a scalar value, or `nil` when absent, null or not a scalar.
    func string(_ key: String) -> String? {
        guard let node = value(key), case .scalar(let scalar) = node, !scalar.isNull else { return nil }
        return scalar.string
    }
}
