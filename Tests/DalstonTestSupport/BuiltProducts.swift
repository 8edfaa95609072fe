public import Foundation

/// Products of this build (executables the tests run as separate processes), found beside the
/// test bundle.
public enum BuiltProducts {
    /// The product `name` in the directory of this build's products.
    public static func url(_ name: String) -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while directory.pathComponents.count > 1 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/\(name)")
    }

    /// The `dalston` executable.
    public static var dalston: URL { url("dalston") }
}
