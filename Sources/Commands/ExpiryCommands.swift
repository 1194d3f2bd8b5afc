/// (to be written)
public enum ExpiryCommands {
    public static let specs: [CommandSpec] = []
}
