import RESP
import Store

enum HashCommands {
    static var specs: [CommandSpec] { [] }
}
