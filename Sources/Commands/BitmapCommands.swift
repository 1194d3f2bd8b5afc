/// (to be written)
public enum BitmapCommands {
    public static let specs: [CommandSpec] = []
}
