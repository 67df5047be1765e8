import KubeAPI

/// The EndpointSlice controller's job for the virtual cluster: one slice per Service with a selector, listing
/// the running pods it selects with their addresses and the Service's target ports resolved on them.
enum EndpointController {
    static func slices(services: [Service], pods: [Pod]) -> [EndpointSlice] {
        services.compactMap { service in
            let selector = service.spec.selector
            guard !selector.isEmpty else { return nil }
            let selected = pods.filter { pod in
                pod.metadata.namespace == service.metadata.namespace
                    && selector.allSatisfy { pod.metadata.labels[$0.key] == $0.value } && !pod.status.podIPs.isEmpty
            }
            let ports: [EndpointSlicePort] = service.spec.ports.compactMap { port in
                let number: Int?
                switch port.targetPort {
                case .int(let n): number = n
                case .string(let name):
                    number =
                        selected.lazy.compactMap { pod in
                            pod.spec.containers.flatMap(\.ports).first { $0.name == name }?.containerPort
                        }.first
                }
                return number.map { EndpointSlicePort(name: port.name, port: $0, protocol: port.protocol) }
            }
            return EndpointSlice(
                metadata: ObjectMeta(
                    name: "\(service.metadata.name)-demo", namespace: service.metadata.namespace,
                    labels: [EndpointSlice.serviceNameLabel: service.metadata.name]),
                addressType: .ipv4,
                endpoints: selected.map { pod in
                    Endpoint(
                        addresses: pod.status.podIPs.map(\.ip).filter { !$0.contains(":") },
                        conditions: EndpointConditions(ready: true, serving: true, terminating: false),
                        nodeName: pod.spec.nodeName)
                },
                ports: ports)
        }
    }
}
