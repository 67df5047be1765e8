import Glibc
import LinkNetlink

/// The on-disk record of which container holds which address, in host-local's layout so either plugin can read
/// the other's store: one directory per network, one file per address named after it and holding
/// `containerID\r\nifname`, `last_reserved_ip.<range set>` files for round-robin, and a `lock` file.
///
/// Concurrent plugin processes serialize on an exclusive `flock` of `lock` (host-local's lock too). A record is
/// written to a temporary file first and then hard-linked to the address's name: `link(2)` fails if the name
/// exists and is atomic, so a plugin killed at any instant leaves either no record or a complete one, never a
/// half-written file that a later reader would misparse. A complete record of an attachment that never finished
/// ADD is exactly what GC (or the runtime's DEL after the failed ADD) releases. Leftover temporary files are
/// removed under the lock by GC.
public final class AllocationStore {
    /// `dataDir/<network>`.
    public let directory: String
    private let lockFile: Int32

    /// The prefix of temporary record files; not an address, so readers skip them.
    static let temporaryPrefix = ".sluice-tmp-"

    /// Opens (creating if needed) the store of network `network` under `dataDirectory`.
    ///
    /// - Throws: ``CNIError`` 5 naming the path when the directory or lock file cannot be created.
    public init(dataDirectory: String, network: String) throws(CNIError) {
        directory = dataDirectory + "/" + network
        try Self.makeDirectories(directory)
        let lockPath = directory + "/lock"
        let file = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard file >= 0 else {
            throw Self.ioError("open", lockPath)
        }
        lockFile = file
    }

    deinit {
        close(lockFile)
    }

    /// Runs `body` holding the store's exclusive lock.
    public func withLock<T>(_ body: () throws(CNIError) -> T) throws(CNIError) -> T {
        while flock(lockFile, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw Self.ioError("flock", directory + "/lock")
            }
        }
        defer { flock(lockFile, LOCK_UN) }
        return try body()
    }

    /// Every address record: who holds what. Call under the lock for a consistent view.
    public func reservations() throws(CNIError) -> [Reservation] {
        var result: [Reservation] = []
        for name in try entries() {
            guard let address = InetAddress(name) else {
                continue
            }
            guard let content = try readFile(directory + "/" + name) else {
                continue
            }
            let (containerID, interface) = Self.recordLines(Array(content.utf8)[...])
            result.append(
                Reservation(
                    address: address,
                    attachment: AttachmentID(
                        containerID: String(decoding: containerID, as: UTF8.self),
                        interfaceName: String(decoding: interface, as: UTF8.self))))
        }
        return result
    }

    /// What ADD and DEL need from the store, in one pass: every recorded address, and those `attachment` holds.
    ///
    /// Runs over every live pod's record on each call, so records are compared as bytes in one reused buffer
    /// rather than decoded into ``Reservation``s. Call under the lock.
    public func scan(for attachment: AttachmentID) throws(CNIError) -> (taken: Set<InetAddress>, held: [InetAddress]) {
        let containerID = Array(attachment.containerID.utf8)
        let interface = Array(attachment.interfaceName.utf8)
        guard let stream = opendir(directory) else {
            throw Self.ioError("opendir", directory)
        }
        defer { closedir(stream) }
        let directoryFile = dirfd(stream)
        var taken = Set<InetAddress>(minimumCapacity: 256)
        var held: [InetAddress] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        // Names stay C strings: parsed by inet_pton and opened relative to the directory, no String per entry.
        while let entry = readdir(stream) {
            let record = withUnsafePointer(to: &entry.pointee.d_name) { raw -> (InetAddress, Int32)? in
                let name = UnsafeRawPointer(raw).assumingMemoryBound(to: CChar.self)
                guard let address = Self.address(named: name) else {
                    return nil
                }
                return (address, openat(directoryFile, name, O_RDONLY | O_CLOEXEC))
            }
            guard let (address, file) = record else {
                continue
            }
            taken.insert(address)
            guard file >= 0 else {
                guard errno == ENOENT else {
                    throw Self.ioError("open", "\(directory)/\(address)")
                }
                continue
            }
            let count = try Self.readRecord(file, into: &buffer, path: "\(directory)/\(address)")
            if Self.record(buffer[..<count], belongsTo: containerID, interface) {
                held.append(address)
            }
        }
        return (taken, held)
    }

    /// The address a record's file name spells (`10.244.1.5`, `fd00::5`), or `nil` for the store's other files.
    private static func address(named name: UnsafePointer<CChar>) -> InetAddress? {
        var bytes: (UInt64, UInt64) = (0, 0)
        let isIPv6 = strchr(name, Int32(UInt8(ascii: ":"))) != nil
        return withUnsafeMutableBytes(of: &bytes) { raw -> InetAddress? in
            guard inet_pton(isIPv6 ? AF_INET6 : AF_INET, name, raw.baseAddress) == 1 else {
                return nil
            }
            return InetAddress(bytes: raw.prefix(isIPv6 ? 16 : 4))
        }
    }

    /// Reads an open record (at most `buffer.count` bytes: records are a container ID and an interface name)
    /// into `buffer`, closes it and returns the byte count.
    private static func readRecord(
        _ file: Int32, into buffer: inout [UInt8], path: @autoclosure () -> String
    ) throws(CNIError) -> Int {
        defer { close(file) }
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress! + total, $0.count - total) }
            if count > 0 {
                total += count
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw ioError("read", path())
            }
        }
        return total
    }

    /// `containerID\r\nifname` (or an old host-local record's `containerID` alone, which matches any interface
    /// of its container), compared line by line with surrounding whitespace ignored, like ``reservations()``.
    static func record(_ bytes: ArraySlice<UInt8>, belongsTo containerID: [UInt8], _ interface: [UInt8]) -> Bool {
        let (recordedID, recordedInterface) = recordLines(bytes)
        return recordedID.elementsEqual(containerID)
            && (recordedInterface.isEmpty || recordedInterface.elementsEqual(interface))
    }

    /// A record's two lines, `containerID` and `ifname` (empty for an old host-local record), each without
    /// surrounding whitespace. Bytes, not Characters: ADD and DEL read every live pod's record.
    static func recordLines(
        _ bytes: ArraySlice<UInt8>
    ) -> (containerID: ArraySlice<UInt8>, interface: ArraySlice<UInt8>) {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        /// The line starting at `start`, trimmed, and where the next line starts.
        func line(from start: Int) -> (ArraySlice<UInt8>, next: Int) {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            var low = start
            var high = end
            while low < high && isSpace(bytes[low]) { low += 1 }
            while high > low && isSpace(bytes[high - 1]) { high -= 1 }
            return (bytes[low..<high], end < bytes.endIndex ? end + 1 : end)
        }
        let (first, next) = line(from: bytes.startIndex)
        return (first, line(from: next).0)
    }

    /// Records `address` as held by `attachment`; `false` when the address is already recorded.
    public func reserve(_ address: InetAddress, for attachment: AttachmentID) throws(CNIError) -> Bool {
        let temporary = "\(directory)/\(Self.temporaryPrefix)\(getpid())-\(address)"
        try writeFile(temporary, "\(attachment.containerID)\r\n\(attachment.interfaceName)")
        defer { unlink(temporary) }
        FaultInjection.checkpoint(.ipamRecordWritten)
        if link(temporary, "\(directory)/\(address)") != 0 {
            if errno == EEXIST {
                return false
            }
            throw Self.ioError("link", "\(directory)/\(address)")
        }
        return true
    }

    /// Deletes the record of `address` (and its pod record); a missing record is not an error.
    public func release(_ address: InetAddress) throws(CNIError) {
        let path = "\(directory)/\(address)"
        if unlink(path) != 0 && errno != ENOENT {
            throw Self.ioError("unlink", path)
        }
        unlink(path + Self.podSuffix)
    }

    /// Pod records are named `<address>.pod`: not an address, so host-local and this store's readers skip them
    /// (host-local compares whole file contents when releasing, so the address record itself must stay exactly
    /// `containerID\r\nifname`).
    public static let podSuffix = ".pod"

    /// Records which Kubernetes pod (`namespace/name`) holds `address`, as `namespace/name\r\ncontainerID`:
    /// `sluiced` reads these to know a local pod's addresses before the API server reports them, and trusts one
    /// only while the address record names the same container.
    ///
    /// Written in place, not through a temporary file and `rename`: a record cut short (a crash, or a reader
    /// racing the write) never names the container the address record names, so it is ignored, and replacing a
    /// file by `rename` made ext4 flush its data first (~0.3 ms of an ADD, strace).
    public func recordPod(_ pod: String, holding address: InetAddress, for attachment: AttachmentID) throws(CNIError) {
        try writeFile("\(directory)/\(address)\(Self.podSuffix)", "\(pod)\r\n\(attachment.containerID)")
    }

    /// Removes pod records whose address is no longer recorded (a plugin killed between the two unlinks of a
    /// release). Under the lock, like every writer.
    public func removeOrphanPodRecords() throws(CNIError) {
        let names = try entries()
        let addresses = Set(names)
        for name in names where name.hasSuffix(Self.podSuffix) && !name.hasPrefix(Self.temporaryPrefix) {
            if !addresses.contains(String(name.dropLast(Self.podSuffix.count))) {
                unlink("\(directory)/\(name)")
            }
        }
    }

    /// The address last handed out from range set `setIndex`, if recorded.
    public func lastReserved(setIndex: Int) throws(CNIError) -> InetAddress? {
        try readFile("\(directory)/last_reserved_ip.\(setIndex)").flatMap { InetAddress($0.trimmingWhitespace) }
    }

    /// Records the address last handed out from range set `setIndex`, overwritten in place: a file a crash left
    /// half-written only moves the round-robin position (the search starts after whatever it parses as, or at the
    /// range's start), never an allocation. Neither `rename` nor truncating to zero is used, because ext4 flushes
    /// a file's data on both (~0.3 ms of an ADD, strace); the new text is written over the old and the file is
    /// then cut to its length.
    public func recordLastReserved(_ address: InetAddress, setIndex: Int) throws(CNIError) {
        let path = "\(directory)/last_reserved_ip.\(setIndex)"
        let file = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard file >= 0 else {
            throw Self.ioError("open", path)
        }
        defer { close(file) }
        let bytes = Array(address.description.utf8)
        let written = bytes.withUnsafeBytes { pwrite(file, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, ftruncate(file, off_t(bytes.count)) == 0 else {
            throw Self.ioError("write", path)
        }
    }

    /// Removes temporary files left by plugins killed mid-write. Only safe under the lock (every writer holds
    /// it), which is why GC calls it there.
    public func removeTemporaryFiles() throws(CNIError) {
        for name in try entries() where name.hasPrefix(Self.temporaryPrefix) {
            unlink("\(directory)/\(name)")
        }
    }

    // MARK: files

    private func entries() throws(CNIError) -> [String] {
        guard let stream = opendir(directory) else {
            throw Self.ioError("opendir", directory)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." {
                names.append(name)
            }
        }
        return names
    }

    /// The file's content, or `nil` when it does not exist (released meanwhile).
    private func readFile(_ path: String) throws(CNIError) -> String? {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else {
            if errno == ENOENT {
                return nil
            }
            throw Self.ioError("open", path)
        }
        defer { close(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = read(file, &buffer, buffer.count)
            if count > 0 {
                bytes += buffer[..<count]
            } else if count == 0 {
                return String(decoding: bytes, as: UTF8.self)
            } else if errno != EINTR {
                throw Self.ioError("read", path)
            }
        }
    }

    private func writeFile(_ path: String, _ content: String) throws(CNIError) {
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard file >= 0 else {
            throw Self.ioError("open", path)
        }
        defer { close(file) }
        var bytes = Array(content.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
            if written < 0 {
                guard errno == EINTR else {
                    throw Self.ioError("write", path)
                }
                continue
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// `mkdir -p`. The store's directory exists on every call but the first, so one `mkdir` usually settles it.
    private static func makeDirectories(_ path: String) throws(CNIError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST {
            return
        }
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw ioError("mkdir", current)
            }
        }
    }

    private static func ioError(_ operation: String, _ path: String) -> CNIError {
        let code = errno
        return CNIError(
            .ioFailure, "IPAM store: \(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// One address record: the address and the attachment holding it (an empty interface name for records written
/// by old host-local versions, which stored only the container ID).
public struct Reservation: Sendable, Hashable {
    public let address: InetAddress
    public let attachment: AttachmentID

    /// Whether this record belongs to `attachment` (a legacy record matches any interface of its container).
    public func belongs(to attachment: AttachmentID) -> Bool {
        self.attachment.containerID == attachment.containerID
            && (self.attachment.interfaceName.isEmpty || self.attachment.interfaceName == attachment.interfaceName)
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    var trimmingWhitespace: String {
        let bytes = utf8
        let isSpace = { (byte: UInt8) in
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\n")
        }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else {
            return ""
        }
        let last = bytes.lastIndex { !isSpace($0) }!
        return String(self[first...last])
    }
}
