import AlveoFuzzTargets
import Foundation

#if FUZZING
/// libFuzzer's driver, called from our own `main` (SwiftPM names the executable's entry point, so
/// libFuzzer's `main` is not used): `LLVMFuzzerRunDriver` exists for exactly this (LLVM 11+).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target, named by ALVEO_FUZZ_TARGET.
let fuzzTarget = ProcessInfo.processInfo.environment["ALVEO_FUZZ_TARGET"] ?? ""

@main struct FuzzDriver {
    /// Prints the listing when asked for one; its strings are released before the caller exits
    /// (with them still held at `exit`, LeakSanitizer reported an 80-byte leak in every fuzz run's log).
    @inline(never) static func printedListing() -> Bool {
        guard let listing = FuzzTargets.listing(ProcessInfo.processInfo.environment) else { return false }
        FileHandle.standardOutput.write(Data(listing.utf8))
        return true
    }

    static func main() {
        if printedListing() { exit(0) }
        guard FuzzTargets.names.contains(fuzzTarget) else {
            FileHandle.standardError.write(Data("alveo-fuzz: set ALVEO_FUZZ_TARGET to one of: \(FuzzTargets.names.joined(separator: ", "))\n".utf8))
            exit(64)
        }
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTargets.run(fuzzTarget, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        })
    }
}
#else
/// Without libFuzzer: `alveo-fuzz TARGET FILE...` runs the files through a target, to reproduce a
/// finding in an ordinary build (a debugger, a backtrace).
@main struct FuzzInputs {
    static func main() {
        if let listing = FuzzTargets.listing(ProcessInfo.processInfo.environment) {
            FileHandle.standardOutput.write(Data(listing.utf8))
            exit(0)
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let target = arguments.first, FuzzTargets.names.contains(target) else {
            FileHandle.standardError.write(Data("usage: alveo-fuzz TARGET FILE... (targets: \(FuzzTargets.names.joined(separator: ", ")))\n".utf8))
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("alveo-fuzz: cannot read \(path)\n".utf8))
                exit(66)
            }
            FuzzTargets.run(target, Array(data))
            print("\(path): ok")
        }
    }
}
#endif
