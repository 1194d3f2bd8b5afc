/// CLIENT and its subcommands.
public enum ClientCommands {
    public static let specs: [CommandSpec] = []

    /// Redis refuses client names with spaces, newlines or other special characters
    /// (anything outside '!'...'~').
    public static func isValidName(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }
    }
}
