/// (to be written)
public enum CommandIntrospection {
    public static let specs: [CommandSpec] = []
}
