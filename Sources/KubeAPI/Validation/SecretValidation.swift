extension Secret {
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Subdomain, isNamespaced: true, into: &errors)
        for key in data.keys.sorted() where !Self.isValidKey(key) {
            errors.add(
                "data",
                "\"\(key)\" is not a valid key (at most 253 letters, digits, '-', '_' or '.', and not \".\" or \"..\")")
        }
        if type == Self.tlsType {
            for key in ["tls.crt", "tls.key"] where data[key] == nil {
                errors.add(FieldPath("data").key(key), "required for \(Self.tlsType) Secrets")
            }
        }
        return errors
    }

    /// Keys become file names when a Secret is mounted, hence the file-name-safe character set.
    private static func isValidKey(_ key: String) -> Bool {
        (1...253).contains(key.utf8.count) && key != "." && key != ".."
            && key.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    true
                default:
                    false
                }
            }
    }
}
