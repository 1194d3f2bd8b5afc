/// (to be written)
public enum KeyCommands {
    public static let specs: [CommandSpec] = []
}
