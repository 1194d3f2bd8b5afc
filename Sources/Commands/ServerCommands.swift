/// (to be written)
public enum ServerCommands {
    public static let specs: [CommandSpec] = []
}
