import Foundation

/// A core/v1 Secret, for the TLS certificates and keys Gateway listeners and Ingresses terminate with.
public struct Secret: KubernetesObject {
    public static let kind = "Secret"
    public static let apiVersions = ["v1"]
    public static let isNamespaced = true
    /// The type of Secrets that hold a certificate chain and key under `tls.crt` and `tls.key`.
    public static let tlsType = "kubernetes.io/tls"

    public var metadata: ObjectMeta
    /// An open-ended string; `Opaque` when absent, as the API server defaults it.
    public var type: String
    /// The decoded bytes of `data`, with `stringData` merged over them as the API server does on write,
    /// so consumers read one map whichever field a manifest used.
    public var data: [String: Data]
    /// `stringData` as written, kept so an encoded Secret round-trips.
    public var stringData: [String: String]

    enum CodingKeys: String, CodingKey {
        case metadata
        case type
        case data
        case stringData
    }

    public init(
        metadata: ObjectMeta, type: String = "Opaque", data: [String: Data] = [:], stringData: [String: String] = [:]
    ) {
        self.metadata = metadata
        self.type = type
        self.stringData = stringData
        self.data = data.merging(stringData.mapValues { Data($0.utf8) }) { _, written in written }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(.metadata, default: ObjectMeta(name: ""))
        type = try container.decode(.type, default: "Opaque")
        stringData = try container.decode(.stringData, default: [:])
        let encoded: [String: String] = try container.decode(.data, default: [:])
        var decoded: [String: Data] = [:]
        for (key, value) in encoded {
            guard let bytes = Data(base64Encoded: value) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .data, in: container, debugDescription: "value of \"\(key)\" is not valid base64")
            }
            decoded[key] = bytes
        }
        data = decoded.merging(stringData.mapValues { Data($0.utf8) }) { _, written in written }
    }

    public func encode(to encoder: any Encoder) throws {
        try encodeTypeMeta(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(type, forKey: .type)
        try container.encode(data.mapValues { $0.base64EncodedString() }, forKey: .data)
        try container.encode(stringData, forKey: .stringData)
    }

    /// The PEM certificate chain of a TLS Secret.
    public var tlsCertificate: Data? { data["tls.crt"] }

    /// The PEM private key of a TLS Secret.
    public var tlsPrivateKey: Data? { data["tls.key"] }
}
