// The CNI plugin arrives with its own issue; until then it answers VERSION (runtimes probe it constantly) and
// refuses every other command with a CNI error on stdout, as the spec asks.
import Glibc

let command = getenv("CNI_COMMAND").map { String(cString: $0) } ?? ""
if command == "VERSION" {
    print(#"{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#)
    exit(0)
}
print(#"{"cniVersion":"1.1.0","code":100,"msg":"sluice-cni: CNI_COMMAND \#(command) is not implemented yet"}"#)
exit(1)
