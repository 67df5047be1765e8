extension Namespace {
    /// Namespace names are DNS labels because they become part of Service DNS names.
    public func validate() -> [FieldError] {
        var errors: [FieldError] = []
        metadata.validate(nameRule: .dns1123Label, isNamespaced: false, into: &errors)
        return errors
    }
}
