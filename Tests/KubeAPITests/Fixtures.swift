/// Manifests shaped like `kubectl get -o yaml` output: status, managedFields and other fields the
/// data plane ignores are left in on purpose, to prove they are ignored.
enum Fixtures {
    static let service = """
        apiVersion: v1
        kind: Service
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: |
              {"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web","namespace":"shop"}}
          creationTimestamp: "2024-05-01T10:00:00Z"
          labels:
            app.kubernetes.io/name: web
          managedFields:
          - apiVersion: v1
            fieldsType: FieldsV1
            fieldsV1:
              f:spec:
                f:ports: {}
            manager: kubectl-client-side-apply
            operation: Update
            time: "2024-05-01T10:00:00Z"
          name: web
          namespace: shop
          resourceVersion: "4711"
          uid: 0b9b6c2e-6f4e-4d8a-9a55-3c1f0e1d2a3b
        spec:
          allocateLoadBalancerNodePorts: true
          clusterIP: 10.96.12.34
          clusterIPs:
          - 10.96.12.34
          - fd00:10:96::1234
          externalTrafficPolicy: Local
          healthCheckNodePort: 31999
          internalTrafficPolicy: Cluster
          ipFamilies:
          - IPv4
          - IPv6
          ipFamilyPolicy: PreferDualStack
          loadBalancerSourceRanges:
          - 203.0.113.0/24
          ports:
          - name: http
            nodePort: 30080
            port: 80
            protocol: TCP
            targetPort: http-web
            appProtocol: http
          - name: dns
            nodePort: 30053
            port: 53
            protocol: UDP
            targetPort: 5353
          selector:
            app.kubernetes.io/name: web
          sessionAffinity: ClientIP
          sessionAffinityConfig:
            clientIP:
              timeoutSeconds: 600
          trafficDistribution: PreferClose
          type: LoadBalancer
        status:
          loadBalancer:
            ingress:
            - ip: 198.51.100.7
              ipMode: VIP
            - hostname: lb.example.com
        """

    static let endpoints = """
        apiVersion: v1
        kind: Endpoints
        metadata:
          name: web
          namespace: shop
          annotations:
            endpoints.kubernetes.io/last-change-trigger-time: "2024-05-01T10:00:01Z"
        subsets:
        - addresses:
          - ip: 10.244.1.5
            nodeName: node-a
            targetRef:
              kind: Pod
              name: web-7d9f8-abcde
              namespace: shop
              uid: 6a4c9a1e-0000-4000-8000-000000000001
          notReadyAddresses:
          - ip: 10.244.2.9
            hostname: web-1
          ports:
          - name: http
            port: 8080
            protocol: TCP
          - name: dns
            port: 5353
            protocol: UDP
        """

    static let endpointSlice = """
        addressType: IPv4
        apiVersion: discovery.k8s.io/v1
        endpoints:
        - addresses:
          - 10.244.1.5
          conditions:
            ready: true
            serving: true
            terminating: false
          hints:
            forZones:
            - name: zone-a
            forNodes:
            - name: node-a
          nodeName: node-a
          targetRef:
            kind: Pod
            name: web-7d9f8-abcde
            namespace: shop
            uid: 6a4c9a1e-0000-4000-8000-000000000001
          zone: zone-a
        - addresses:
          - 10.244.2.9
          conditions:
            ready: false
            terminating: true
          nodeName: node-b
        kind: EndpointSlice
        metadata:
          generateName: web-
          generation: 3
          labels:
            endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
            kubernetes.io/service-name: web
          name: web-x7k2p
          namespace: shop
          ownerReferences:
          - apiVersion: v1
            blockOwnerDeletion: true
            controller: true
            kind: Service
            name: web
            uid: 0b9b6c2e-6f4e-4d8a-9a55-3c1f0e1d2a3b
        ports:
        - name: http
          port: 8080
          protocol: TCP
          appProtocol: http
        - name: dns
          port: 5353
          protocol: UDP
        """

    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata:
          labels:
            app.kubernetes.io/name: web
            pod-template-hash: 7d9f8
          name: web-7d9f8-abcde
          namespace: shop
          deletionTimestamp: "2024-05-01T11:00:00Z"
        spec:
          containers:
          - image: registry.example.com/web:1.2
            imagePullPolicy: IfNotPresent
            name: web
            ports:
            - containerPort: 8080
              name: http-web
              protocol: TCP
            - containerPort: 5353
              hostPort: 53
              hostIP: 192.0.2.10
              name: dns
              protocol: UDP
            resources: {}
          dnsPolicy: ClusterFirst
          hostNetwork: false
          nodeName: node-a
        status:
          conditions:
          - lastProbeTime: null
            lastTransitionTime: "2024-05-01T10:00:00Z"
            status: "True"
            type: Ready
          - lastProbeTime: null
            status: "True"
            type: PodScheduled
          hostIP: 192.0.2.10
          phase: Running
          podIP: 10.244.1.5
          podIPs:
          - ip: 10.244.1.5
          - ip: fd00:10:244:1::5
          qosClass: BestEffort
        """

    static let namespace = """
        apiVersion: v1
        kind: Namespace
        metadata:
          labels:
            kubernetes.io/metadata.name: shop
            team: payments
          name: shop
        spec:
          finalizers:
          - kubernetes
        status:
          phase: Active
        """

    static let node = """
        apiVersion: v1
        kind: Node
        metadata:
          annotations:
            node.alpha.kubernetes.io/ttl: "0"
          labels:
            kubernetes.io/hostname: node-a
            topology.kubernetes.io/zone: zone-a
          name: node-a
        spec:
          podCIDR: 10.244.1.0/24
          podCIDRs:
          - 10.244.1.0/24
          - fd00:10:244:1::/64
          providerID: kind://podman/kind/node-a
          unschedulable: true
        status:
          addresses:
          - address: 192.0.2.10
            type: InternalIP
          - address: 2001:db8::10
            type: InternalIP
          - address: node-a
            type: Hostname
          capacity:
            cpu: "2"
          nodeInfo:
            kubeletVersion: v1.31.0
        """

    static let secret = """
        apiVersion: v1
        kind: Secret
        metadata:
          name: web-tls
          namespace: shop
        type: kubernetes.io/tls
        data:
          tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
          tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t
        stringData:
          note: managed by hand
        """

    static let networkPolicy = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-allow
          namespace: shop
          generation: 2
        spec:
          podSelector:
            matchLabels:
              app.kubernetes.io/name: web
          ingress:
          - from:
            - namespaceSelector:
                matchLabels:
                  team: payments
              podSelector:
                matchExpressions:
                - key: role
                  operator: In
                  values: [frontend, api]
            - ipBlock:
                cidr: 172.16.0.0/16
                except:
                - 172.16.1.0/24
            ports:
            - port: 8080
            - port: http-web
              protocol: TCP
            - port: 32000
              endPort: 32768
              protocol: UDP
          egress:
          - to:
            - podSelector: {}
          - ports:
            - protocol: SCTP
        """

    static let ingress = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          annotations:
            example.com/rewrite: "true"
          name: shop
          namespace: shop
        spec:
          ingressClassName: sluice
          defaultBackend:
            resource:
              apiGroup: storage.example.com
              kind: Bucket
              name: static
          rules:
          - host: shop.example.com
            http:
              paths:
              - backend:
                  service:
                    name: web
                    port:
                      name: http
                path: /
                pathType: Prefix
              - backend:
                  service:
                    name: api
                    port:
                      number: 8080
                path: /api/v1
                pathType: Exact
          - host: "*.shop.example.com"
            http:
              paths:
              - backend:
                  service:
                    name: web
                    port:
                      number: 80
                pathType: ImplementationSpecific
          tls:
          - hosts:
            - shop.example.com
            secretName: web-tls
        status:
          loadBalancer:
            ingress:
            - ip: 198.51.100.8
        """

    static let ingressClass = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata:
          annotations:
            ingressclass.kubernetes.io/is-default-class: "true"
          name: sluice
        spec:
          controller: sluice.dev/ingress-controller
        """

    static let gatewayClass = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: sluice
        spec:
          controllerName: sluice.dev/gateway-controller
          description: Sluice node-local gateways
        status:
          conditions:
          - type: Accepted
            status: "True"
        """

    static let gateway = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: edge
          namespace: infra
        spec:
          gatewayClassName: sluice
          addresses:
          - value: 198.51.100.20
          - type: Hostname
            value: edge.example.com
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            allowedRoutes:
              namespaces:
                from: All
          - name: https
            hostname: "*.example.com"
            port: 443
            protocol: HTTPS
            tls:
              certificateRefs:
              - name: wildcard-tls
                namespace: certs
            allowedRoutes:
              namespaces:
                from: Selector
                selector:
                  matchLabels:
                    gateway-access: "yes"
              kinds:
              - kind: HTTPRoute
          - name: passthrough
            port: 8443
            protocol: TLS
            tls:
              mode: Passthrough
        """

    static let httpRoute = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: shop
          namespace: shop
        spec:
          parentRefs:
          - name: edge
            namespace: infra
            sectionName: https
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: internal
            port: 8080
          hostnames:
          - shop.example.com
          rules:
          - name: api
            matches:
            - path:
                type: PathPrefix
                value: /api
              headers:
              - name: X-Canary
                value: "true"
              - type: RegularExpression
                name: User-Agent
                value: ".*Mobile.*"
              queryParams:
              - name: debug
                value: "1"
              method: GET
            filters:
            - type: RequestHeaderModifier
              requestHeaderModifier:
                set:
                - name: X-Route
                  value: api
                add:
                - name: X-Trace
                  value: "on"
                remove:
                - X-Internal
            - type: URLRewrite
              urlRewrite:
                hostname: api.internal
                path:
                  type: ReplacePrefixMatch
                  replacePrefixMatch: /v2
            - type: RequestMirror
              requestMirror:
                backendRef:
                  name: shadow
                  port: 8080
                fraction:
                  numerator: 5
            backendRefs:
            - name: api-v1
              port: 8080
              weight: 90
            - name: api-v2
              namespace: canary
              port: 8080
              weight: 10
              filters:
              - type: ResponseHeaderModifier
                responseHeaderModifier:
                  set:
                  - name: X-Version
                    value: v2
          - matches:
            - path:
                type: Exact
                value: /old
            filters:
            - type: RequestRedirect
              requestRedirect:
                scheme: https
                hostname: shop.example.com
                path:
                  type: ReplaceFullPath
                  replaceFullPath: /new
                port: 443
                statusCode: 301
          - backendRefs:
            - name: web
              port: 80
            filters:
            - type: ExtensionRef
              extensionRef:
                group: sluice.dev
                kind: RateLimit
                name: gentle
        """

    static let referenceGrant = """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata:
          name: allow-infra
          namespace: certs
        spec:
          from:
          - group: gateway.networking.k8s.io
            kind: Gateway
            namespace: infra
          to:
          - group: ""
            kind: Secret
            name: wildcard-tls
          - group: ""
            kind: Service
        """
}
