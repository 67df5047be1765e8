extension FieldPath {
    /// The Kubernetes spelling of a `Decoder` coding path: `spec.ports[0].port`, `metadata.labels[app]`.
    public init(codingPath: [any CodingKey]) {
        var path = FieldPath.root
        for key in codingPath {
            if key is MapEntryKey {
                path = path.key(key.stringValue)
            } else if let index = key.intValue {
                path = path.index(index)
            } else {
                path = path.child(key.stringValue)
            }
        }
        self = path
    }
}

extension FieldError {
    /// Turns a `DecodingError` (from Sluice's manifest decoder, or from `JSONDecoder` on an API
    /// response) into a field error, so type mistakes read like every other validation error.
    public init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            self.init(FieldPath(codingPath: context.codingPath), context.debugDescription)
        case .keyNotFound(let key, let context):
            self.init(FieldPath(codingPath: context.codingPath + [key]), "required")
        @unknown default:
            self.init(.root, String(describing: error))
        }
    }
}
