/// The naming rules of Kubernetes (`k8s.io/apimachinery/pkg/util/validation`), each with the short
/// explanation that follows a rejected value in error messages.
enum NameRule {
    case dns1123Label
    case dns1123Subdomain
    case dns1035Label
    case labelKey
    case labelValue
    /// IANA_SVC_NAME: container port names and named target ports.
    case portName
    /// A DNS-1123 subdomain that may start with `*.`, as in Ingress and Gateway API hostnames.
    case wildcardHostname
    /// A controller name such as `example.com/gateway-controller`.
    case domainPrefixedPath
    /// An HTTP header field name (an RFC 9110 token).
    case httpHeaderName

    func accepts(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        switch self {
        case .dns1123Label: return Self.isDNS1123Label(bytes[...])
        case .dns1123Subdomain: return Self.isDNS1123Subdomain(bytes[...])
        case .dns1035Label:
            return Self.isDNS1123Label(bytes[...]) && bytes.first.map(Self.isLowercaseLetter) == true
        case .labelKey: return Self.isQualifiedName(bytes[...])
        case .labelValue: return bytes.isEmpty || Self.isQualifiedNamePart(bytes[...])
        case .portName: return Self.isPortName(bytes)
        case .wildcardHostname:
            if bytes.starts(with: Array("*.".utf8)) { return Self.isDNS1123Subdomain(bytes.dropFirst(2)) }
            return Self.isDNS1123Subdomain(bytes[...])
        case .domainPrefixedPath: return Self.isDomainPrefixedPath(bytes)
        case .httpHeaderName: return (1...256).contains(bytes.count) && bytes.allSatisfy(Self.isTokenCharacter)
        }
    }

    /// What a valid value looks like, for the message that quotes a rejected one.
    var explanation: String {
        switch self {
        case .dns1123Label:
            "a DNS-1123 label (at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit)"
        case .dns1123Subdomain:
            "a DNS-1123 subdomain (at most 253 characters: lowercase letters, digits, '-' and '.', "
                + "each part starting and ending with a letter or digit)"
        case .dns1035Label:
            "a DNS-1035 label (at most 63 lowercase letters, digits or '-', starting with a letter "
                + "and ending with a letter or digit)"
        case .labelKey:
            "a label key (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, "
                + "'-', '_' or '.', starting and ending with a letter or digit)"
        case .labelValue:
            "a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
        case .portName:
            "a port name (at most 15 lowercase letters, digits or '-', with at least one letter "
                + "and no leading, trailing or double '-')"
        case .wildcardHostname:
            "a hostname (a DNS-1123 subdomain, optionally starting with '*.')"
        case .domainPrefixedPath:
            "a domain-prefixed path (a DNS-1123 subdomain, '/', and a path, such as example.com/controller)"
        case .httpHeaderName:
            "an HTTP header name (at most 256 letters, digits or !#$%&'*+-.^_`|~)"
        }
    }

    /// The standard message for a rejected value.
    func message(for value: String) -> String {
        "\"\(value)\" is not \(explanation)"
    }

    // MARK: - Character classes

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowercaseLetter(byte) || isDigit(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isLowercaseAlphanumeric(_ byte: UInt8) -> Bool {
        isLowercaseLetter(byte) || isDigit(byte)
    }

    // MARK: - Rules

    private static func isDNS1123Label(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count <= 63 && isDNS1123LabelShape(bytes)
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without the length limit, which only whole labels have.
    private static func isDNS1123LabelShape(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last else { return false }
        return isLowercaseAlphanumeric(first) && isLowercaseAlphanumeric(last)
            && bytes.allSatisfy { isLowercaseAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isDNS1123Subdomain(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count <= 253
            && bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                .allSatisfy(isDNS1123LabelShape)
    }

    /// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
    private static func isQualifiedNamePart(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count <= 63, let first = bytes.first, let last = bytes.last else { return false }
        return isAlphanumeric(first) && isAlphanumeric(last)
            && bytes.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
    }

    private static func isQualifiedName(_ bytes: ArraySlice<UInt8>) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isQualifiedNamePart(parts[0])
        case 2: return isDNS1123Subdomain(parts[0]) && isQualifiedNamePart(parts[1])
        default: return false
        }
    }

    private static func isDomainPrefixedPath(_ bytes: [UInt8]) -> Bool {
        guard bytes.count <= 253, let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return false }
        let path = bytes[(slash + 1)...]
        let pathPunctuation = Array("/-._~%!$&'()*+,;=:".utf8)
        return isDNS1123Subdomain(bytes[..<slash]) && !path.isEmpty
            && path.allSatisfy { isAlphanumeric($0) || pathPunctuation.contains($0) }
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }

    private static func isPortName(_ bytes: [UInt8]) -> Bool {
        let dash = UInt8(ascii: "-")
        guard (1...15).contains(bytes.count), bytes.first != dash, bytes.last != dash else { return false }
        guard bytes.allSatisfy({ isLowercaseAlphanumeric($0) || $0 == dash }),
            bytes.contains(where: isLowercaseLetter)
        else { return false }
        return !zip(bytes, bytes.dropFirst()).contains { $0 == dash && $1 == dash }
    }
}
