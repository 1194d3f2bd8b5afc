import Foundation
import NIOCore
import RESP
import Store

/// DEBUG <subcommand>: the testing aids Strata supports (gated by enable-debug-command,
/// which the dispatcher checks through the `.protected` flag).
public enum DebugCommand {
    static var spec: CommandSpec { CommandSpec("debug", arity: -2, flags: [.admin, .noscript, .loading, .stale, .protected],
                                  group: "server", summary: "A container for debugging commands", handler: debug) }

    static func debug(_ client: Client, _ args: CommandArguments) {
        let count = args.count
        if args.matches(1, "help") && count == 2 {
            help(client)
        } else if args.matches(1, "sleep") && count == 3 {
            sleep(client, args)
        } else if args.matches(1, "set-active-expire") && count == 3 {
            // Redis takes atoi() of the argument: anything not starting with a non-zero
            // number disables.
            client.server.store.activeExpireEnabled = leadingInteger(args.string(2)) != 0
            client.reply.ok()
        } else if args.matches(1, "protocol") && count == 3 {
            proto(client, args.lowercased(2))
        } else if args.matches(1, "object") && count == 3 {
            object(client, args)
        } else if args.matches(1, "error") && count == 3 {
            client.error(args.string(2))
        } else if args.matches(1, "park-keys") && count == 4 {
            // Strata only: see ParkingProbe.
            guard let milliseconds = args.integer(3), milliseconds >= 0 else {
                return client.error(ErrorReplies.notInteger)
            }
            ParkingProbe.install(on: client.server, prefix: args.array(2), milliseconds: Int64(milliseconds))
            client.reply.ok()
        } else {
            ServerCommands.subcommandError(client, args, "DEBUG")
        }
    }

    static func help(_ client: Client) {
        ServerCommands.replyHelp(client, "DEBUG", [
            "ERROR <string>",
            "    Return a Redis protocol error with <string> as message. Useful for clients",
            "    unit tests to simulate Redis errors.",
            "OBJECT <key>",
            "    Show low level info about the <key> and associated value.",
            "PARK-KEYS <prefix> <milliseconds>",
            "    (Strata) Make commands touching keys that start with <prefix> wait",
            "    <milliseconds> before running, as a cold read would. Empty prefix: off.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ])
    }

    /// DEBUG SLEEP: blocks the execution thread, as Redis's does (that is its purpose:
    /// testing timeouts and the latency monitor). Invalid numbers sleep 0, like strtod.
    static func sleep(_ client: Client, _ args: CommandArguments) {
        let seconds = args.double(2) ?? 0
        if seconds > 0 {
            let micros = seconds * 1_000_000
            usleep(UInt32(min(micros, Double(UInt32.max))))
        }
        client.reply.ok()
    }

    static func leadingInteger(_ text: String) -> Int {
        let trimmed = text.drop { $0 == " " }
        var digits = ""
        for (index, char) in trimmed.enumerated() {
            if char.isASCII && char.isNumber { digits.append(char) }
            else if index == 0 && (char == "-" || char == "+") { digits.append(char) }
            else { break }
        }
        return Int(digits) ?? 0
    }

    /// DEBUG PROTOCOL <type>: one reply of each RESP type, as Redis's debug.c sends them
    /// (clients' test suites rely on these exact values).
    static func proto(_ client: Client, _ kind: String) {
        switch kind {
        case "string": client.reply.bulk("Hello World")
        case "integer": client.reply.integer(12345)
        case "double": client.reply.double(3.141)
        case "bignum":
            let digits = "1234567999999999999999999999999999999"
            if client.reply.resp3 { client.reply.buffer.writeString("(\(digits)\r\n") } else { client.reply.bulk(digits) }
        case "null": client.reply.null()
        case "array":
            client.reply.arrayHeader(3)
            for i in 0..<3 { client.reply.integer(i) }
        case "set":
            client.reply.setHeader(3)
            for i in 0..<3 { client.reply.integer(i) }
        case "map":
            client.reply.mapHeader(3)
            for i in 0..<3 {
                client.reply.integer(i)
                client.reply.boolean(i == 1)
            }
        case "attrib":
            if client.reply.resp3 {
                client.reply.buffer.writeString("|1\r\n")
                client.reply.bulk("key-popularity")
                client.reply.arrayHeader(2)
                client.reply.bulk("key:123")
                client.reply.integer(90)
            }
            client.reply.bulk("Some real reply following the attribute")
        case "push":
            guard client.reply.resp3 else {
                return client.error("ERR RESP2 is not supported by this command")
            }
            client.reply.pushHeader(2)
            client.reply.bulk("server-cpu-usage")
            client.reply.integer(42)
            client.reply.bulk("Some real reply following the push reply")
        case "true": client.reply.boolean(true)
        case "false": client.reply.boolean(false)
        case "verbatim": client.reply.verbatim("This is a verbatim\nstring")
        default:
            return client.error("ERR Wrong protocol type name. Please use one of the following: "
                                + "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
        }
    }

    /// DEBUG OBJECT key: Redis's one-line description of the value. `Value at` is the
    /// slot's address; refcount is 1 (values are not shared); serializedlength is the
    /// size of the RDB encoding without compression.
    static func object(_ client: Client, _ args: CommandArguments) {
        guard let slot = client.db.find(args.bytes(2)) else { return client.error(ErrorReplies.noSuchKey) }
        let server = client.server
        let meta = slot.pointee.meta
        let idle = AccessTracking.idleSeconds(meta: meta, nowMillis: server.store.nowMillis)
        let encoding: String
        let serializedLength: Int
        switch slot.pointee.value {
        case .string(let bytes):
            encoding = KeyCommands.stringEncoding(bytes, meta: meta)
            serializedLength = rdbStringLength(bytes)
        case .collection(_, let payload):
            // Redis stores small collections in the RDB as their listpack or intset bytes:
            // the packed form's size is the same order.
            encoding = KeyCommands.collectionEncoding(slot.pointee.record)
            serializedLength = payload.count
        }
        let address = "0x" + String(UInt(bitPattern: slot), radix: 16)
        client.reply.status("Value at:\(address) refcount:1 encoding:\(encoding) serializedlength:\(serializedLength) "
                            + "lru:\(meta & AccessTracking.lruMask) lru_seconds_idle:\(idle)")
    }

    /// RDB size of a string: integers fitting 32 bits are stored as 1+1/2/4 bytes, others
    /// as a length prefix (1, 2, 5 or 9 bytes) plus the bytes.
    static func rdbStringLength(_ bytes: [UInt8]) -> Int {
        if bytes.count <= 11, let value = bytes.withUnsafeBytes({ StrictInteger.parse($0) }),
           String(value).utf8.elementsEqual(bytes) {
            if value >= -(1 << 7) && value < (1 << 7) { return 2 }
            if value >= -(1 << 15) && value < (1 << 15) { return 3 }
            if value >= -(1 << 31) && value < (1 << 31) { return 5 }
        }
        let n = bytes.count
        let prefix = n < 64 ? 1 : (n < 16384 ? 2 : (n <= Int(UInt32.max) ? 5 : 9))
        return prefix + n
    }
}
