import KubeAPI

/// A NetworkPolicy that exists but could not be loaded, known only by name and the loader's complaints.
///
/// Dropping it would fail open: the pods it was meant to isolate would accept everything. Its selector is unknown,
/// so every pod of its namespace stays isolated in both directions (allowed only by the namespace's valid
/// policies) until it is fixed.
public struct RejectedPolicy: Sendable, Hashable {
    public var name: ObjectName
    /// The loader's diagnostics, e.g. `spec.ingress[0].ports[0].port: 70000 is not in 1-65535`.
    public var problems: [String]

    public init(name: ObjectName, problems: [String]) {
        self.name = name
        self.problems = problems
    }

    /// The NetworkPolicies a manifest load rejected without a usable object (errors naming a NetworkPolicy that
    /// did not decode), minus duplicate definitions of a policy that did load.
    public static func rejected(by manifests: ManifestSet) -> [RejectedPolicy] {
        // Policies that decoded but are invalid are passed to the enforcer as objects (it isolates exactly the pods
        // they select); only those known by name alone are left here.
        let loaded = Set((manifests.networkPolicies + manifests.invalidNetworkPolicies).map { ObjectName($0.metadata) })
        var problems: [ObjectName: [String]] = [:]
        for diagnostic in manifests.errors where diagnostic.kind == KubeAPI.NetworkPolicy.kind {
            guard let text = diagnostic.objectName, let name = ObjectName(text), !loaded.contains(name) else {
                continue
            }
            problems[name, default: []].append(diagnostic.description)
        }
        return problems.keys.sorted().map { RejectedPolicy(name: $0, problems: problems[$0]!) }
    }
}
