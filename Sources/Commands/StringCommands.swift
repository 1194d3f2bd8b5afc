/// (to be written)
public enum StringCommands {
    public static let specs: [CommandSpec] = []
}
