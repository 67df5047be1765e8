// The CNI plugin executable: the runtime's environment and stdin in, the spec's JSON on stdout, the exit status
// out. Everything else lives in CNIPlugin.
import CNIPlugin
import Glibc

var input: [UInt8] = []
var buffer = [UInt8](repeating: 0, count: 65536)
while true {
    let count = read(STDIN_FILENO, &buffer, buffer.count)
    if count > 0 {
        input += buffer[..<count]
    } else if count == 0 || errno != EINTR {
        break
    }
}
let outcome = Plugin.run(environment: { getenv($0).map { String(cString: $0) } }, stdin: input)
var output = Array(outcome.stdout.utf8)[...]
while !output.isEmpty {
    let written = output.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    if written > 0 {
        output = output.dropFirst(written)
    } else if written < 0 && errno != EINTR {
        break
    }
}
exit(outcome.status)
