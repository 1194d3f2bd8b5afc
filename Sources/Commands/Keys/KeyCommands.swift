import RESP
import Store

/*
 Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, TOUCH, RENAME, RENAMENX, COPY, MOVE,
 RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB here; KEYS and SCAN in ScanCommand.swift;
 OBJECT in ObjectCommand.swift.

 Which lookup each command uses follows Redis 7.0, because it decides what INFO reports
 (keyspace_hits/misses) and what OBJECT IDLETIME/FREQ see afterwards:
 - `inspect` (counts a hit or miss, no access recorded): EXISTS, TYPE, TTL family, OBJECT,
   SCAN's TYPE filter (Redis's LOOKUP_NOTOUCH).
 - `db.lookupRead` (counts and records the access): TOUCH, COPY's source.
 - `db.lookupWrite` (records the access, no stats): RENAME, MOVE, COPY's destination,
   EXPIRE family, PERSIST.
 - `db.find` (neither): DEL/UNLINK (through `db.delete`), RANDOMKEY.

 A SlotPointer dies at the next insert or removal in its database, and a lookup may remove
 an expired key: a handler that holds a slot across another lookup in the same database
 finds it again first.
*/

/// Generic key commands and the database-level commands (FLUSHDB, FLUSHALL, SWAPDB, DBSIZE).
public enum KeyCommands {
    public static var specs: [CommandSpec] { [
        CommandSpec("del", arity: -2, flags: [.write], keys: (1, -1, 1), summary: "Delete a key",
                    coldNeed: .nothing, handler: del),
        CommandSpec("unlink", arity: -2, flags: [.write, .fast], keys: (1, -1, 1),
                    summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
                    coldNeed: .nothing, handler: del),
        CommandSpec("exists", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1),
                    summary: "Determine if a key exists", coldNeed: .metadata, handler: exists),
        CommandSpec("type", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1),
                    summary: "Determine the type stored at key", coldNeed: .metadata, handler: type),
        CommandSpec("touch", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1),
                    summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
                    coldNeed: .metadata, handler: touch),
        CommandSpec("rename", arity: 3, flags: [.write], keys: (1, 2, 1), summary: "Rename a key",
                    coldNeed: .movedValue, handler: { rename($0, $1, onlyIfAbsent: false) }),
        CommandSpec("renamenx", arity: 3, flags: [.write, .fast], keys: (1, 2, 1),
                    summary: "Rename a key, only if the new key does not exist", coldNeed: .movedValue,
                    handler: { rename($0, $1, onlyIfAbsent: true) }),
        CommandSpec("copy", arity: -3, flags: [.write, .denyOOM], keys: (1, 2, 1), summary: "Copy a key",
                    coldNeed: .movedValue, handler: copy),
        CommandSpec("move", arity: 3, flags: [.write, .fast], keys: (1, 1, 1),
                    summary: "Move a key to another database", coldNeed: .movedValue, handler: move),
        CommandSpec("keys", arity: 2, flags: [.readonly], summary: "Find all keys matching the given pattern",
                    handler: keys),
        CommandSpec("scan", arity: -2, flags: [.readonly], summary: "Incrementally iterate the keys space",
                    handler: scan),
        CommandSpec("randomkey", arity: 1, flags: [.readonly], summary: "Return a random key from the keyspace",
                    handler: randomKey),
        objectSpec,
        CommandSpec("dbsize", arity: 1, flags: [.readonly, .fast], group: "server",
                    summary: "Return the number of keys in the selected database", handler: dbsize),
        CommandSpec("flushdb", arity: -1, flags: [.write], group: "server",
                    summary: "Remove all keys from the current database", handler: flushdb),
        CommandSpec("flushall", arity: -1, flags: [.write], group: "server",
                    summary: "Remove all keys from all databases", handler: flushall),
        CommandSpec("swapdb", arity: 3, flags: [.write, .fast], group: "server",
                    summary: "Swaps two Redis databases", handler: swapdb),
    ] }

    // MARK: - Shared helpers

    /// Redis's LOOKUP_NOTOUCH read: the live slot or nil, counting a keyspace hit or miss
    /// without recording an access (inspection commands must not change OBJECT IDLETIME).
    static func inspect(_ client: Client, _ key: UnsafeRawBufferPointer) -> SlotPointer? {
        let slot = client.db.find(key)
        if slot == nil {
            client.server.store.stats.keyspaceMisses += 1
        } else {
            client.server.store.stats.keyspaceHits += 1
        }
        return slot
    }

    /// What the metadata commands (EXISTS, TYPE, the TTL family, OBJECT IDLETIME/FREQ)
    /// report of a key in either tier: a cold key's come from the cold index, and its value
    /// is not read.
    struct KeyMetadata {
        /// Unix ms, 0 = none.
        let expireAt: Int64
        /// The access history (LRU clock or LFU counter, `AccessTracking`).
        let access: UInt32
        let typeName: String
    }

    /// `inspect` for either tier: the key's metadata or nil, counting a keyspace hit or miss
    /// without recording an access.
    static func inspectMetadata(_ client: Client, _ key: UnsafeRawBufferPointer) -> KeyMetadata? {
        let db = client.db
        let found: KeyMetadata?
        if let slot = db.find(key) {
            found = KeyMetadata(expireAt: slot.pointee.expireAt, access: slot.pointee.meta,
                                typeName: slot.pointee.typeName)
        } else if let entry = db.coldEntry(key) {
            found = KeyMetadata(expireAt: entry.expireAt, access: entry.meta,
                                typeName: ValueCodec.typeName(tag: ColdIndex.typeTag(meta: entry.meta)) ?? "none")
        } else {
            found = nil
        }
        if found == nil {
            client.server.store.stats.keyspaceMisses += 1
        } else {
            client.server.store.stats.keyspaceHits += 1
        }
        return found
    }

    /// Redis's getIntFromObjectOrReply: a 32-bit integer, or an error reply and nil.
    /// `message` replaces both errors when given (SWAPDB's "invalid first DB index").
    static func int32Argument(_ client: Client, _ args: CommandArguments, _ index: Int,
                              message: String? = nil) -> Int? {
        guard let value = args.integer(index) else {
            client.error(message ?? ErrorReplies.notInteger)
            return nil
        }
        guard value >= Int(Int32.min) && value <= Int(Int32.max) else {
            client.error(message ?? "ERR value is out of range, value must between -2147483648 and 2147483647")
            return nil
        }
        return value
    }

    /// A database index argument (COPY DB, MOVE): the database, or an error reply and nil.
    static func databaseArgument(_ client: Client, _ args: CommandArguments, _ index: Int) -> Database? {
        guard let number = int32Argument(client, args, index) else { return nil }
        let databases = client.server.store.databases
        guard number >= 0 && number < databases.count else {
            client.error(ErrorReplies.dbIndexOutOfRange)
            return nil
        }
        return databases[number]
    }

    static let sameObject = "ERR source and destination objects are the same"

    // MARK: - DEL, UNLINK, EXISTS, TYPE, TOUCH

    /// DEL and UNLINK: a key named twice is deleted once. Values are freed inline: freeing
    /// a string is one deallocation, so there is nothing to hand to another thread.
    static func del(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        var deleted = 0
        for index in 1..<args.count where db.delete(args.bytes(index)) { deleted += 1 }
        client.reply.integer(deleted)
    }

    /// EXISTS counts every argument that names a live key, duplicates included.
    static func exists(_ client: Client, _ args: CommandArguments) {
        var found = 0
        for index in 1..<args.count where inspectMetadata(client, args.bytes(index)) != nil { found += 1 }
        client.reply.integer(found)
    }

    static func type(_ client: Client, _ args: CommandArguments) {
        guard let found = inspectMetadata(client, args.bytes(1)) else { return client.reply.status("none") }
        client.reply.status(found.typeName)
    }

    /// TOUCH records an access to each live key (a real read: hits and LRU/LFU); a cold
    /// key's is recorded in its index entry, its value not read.
    static func touch(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        var touched = 0
        for index in 1..<args.count {
            let key = args.bytes(index)
            if db.lookupRead(key) != nil {
                touched += 1
            } else if let entry = db.coldEntry(key) {
                // lookupRead counted a miss: it is a hit after all.
                client.server.store.stats.keyspaceMisses -= 1
                client.server.store.stats.keyspaceHits += 1
                db.touchCold(key, meta: entry.meta)
                touched += 1
            }
        }
        client.reply.integer(touched)
    }

    // MARK: - RENAME, RENAMENX

    /// RENAME and RENAMENX. The record moves whole: value, expiry and access metadata (the
    /// same object in Redis, so OBJECT IDLETIME and ENCODING carry over). A cold key is
    /// renamed inside the cold tier, its value never read (Database.moveCold).
    static func rename(_ client: Client, _ args: CommandArguments, onlyIfAbsent: Bool) {
        let db = client.db
        let source = args.bytes(1), target = args.bytes(2)
        let cold = db.lookupWrite(source) == nil ? db.coldEntry(source) : nil
        guard db.keys.find(source) != nil || cold != nil else { return client.error(ErrorReplies.noSuchKey) }
        if source.elementsEqual(target) {
            return onlyIfAbsent ? client.reply.integer(0) : client.reply.ok()
        }
        if db.existsForWrite(target) {
            if onlyIfAbsent { return client.reply.integer(0) }
            db.removeAnyTier(target)
        }
        if let cold {
            db.moveCold(source, cold, to: db, target, keepSource: false, access: cold.meta)
        } else {
            // The target's lookup or removal may have moved the source's record: find it again.
            guard let slot = db.keys.find(source) else { return client.error(ErrorReplies.noSuchKey) }
            if !db.moveThroughWriter(slot, source, to: db, target, keepSource: false, access: slot.pointee.meta) {
                db.add(target, moving: db.take(slot))
            }
        }
        db.modified(source)
        db.modified(target, countsAsDirty: false)  // Redis counts one change per rename
        if onlyIfAbsent { client.reply.integer(1) } else { client.reply.ok() }
    }

    // MARK: - COPY, MOVE

    /// COPY source destination [DB n] [REPLACE]. The copy is a new object: fresh access
    /// time, same encoding flags, same expiry. A cold source is copied inside the cold
    /// tier, its value never read (Database.moveCold).
    static func copy(_ client: Client, _ args: CommandArguments) {
        let store = client.server.store
        let sourceDB = client.db
        var targetDB = client.db
        var replace = false
        var index = 3
        while index < args.count {
            if args.matches(index, "replace") {
                replace = true
            } else if args.matches(index, "db") && index + 1 < args.count {
                guard let db = databaseArgument(client, args, index + 1) else { return }
                targetDB = db
                index += 1
            } else {
                return client.error(ErrorReplies.syntax)
            }
            index += 1
        }
        let source = args.bytes(1), target = args.bytes(2)
        if sourceDB === targetDB && source.elementsEqual(target) { return client.error(sameObject) }
        let fresh = AccessTracking.initialMeta(nowMillis: store.nowMillis, lfu: store.lfuPolicy)
        guard sourceDB.lookupRead(source) != nil else {
            guard let cold = sourceDB.coldEntry(source) else { return client.reply.integer(0) }
            store.stats.keyspaceMisses -= 1  // lookupRead counted a miss: a hit after all
            store.stats.keyspaceHits += 1
            if targetDB.existsForWrite(target) {
                guard replace else { return client.reply.integer(0) }
                targetDB.removeAnyTier(target)
            }
            sourceDB.moveCold(source, cold, to: targetDB, target, keepSource: true, access: fresh)
            targetDB.modified(target)
            return client.reply.integer(1)
        }
        if targetDB.existsForWrite(target) {
            guard replace else { return client.reply.integer(0) }
            targetDB.removeAnyTier(target)
        }
        // The destination's lookup or removal may have moved the source's record.
        guard let slot = sourceDB.keys.find(source) else { return client.reply.integer(0) }
        if !sourceDB.moveThroughWriter(slot, source, to: targetDB, target, keepSource: true, access: fresh) {
            let expireAt = slot.pointee.expireAt
            let flags = slot.pointee.meta & ~AccessTracking.lruMask
            if let owned = slot.pointee.record.ownedValue {
                // A large collection's object is copied as it is (not packed and rebuilt).
                let type = slot.pointee.valueType
                OwnedValue.payload(owned.copy()).withUnsafeBytes {
                    _ = targetDB.add(target, type: type, payload: $0, expireAt: expireAt, meta: flags | fresh)
                }
            } else {
                let value = slot.pointee.value
                targetDB.add(target, value, expireAt: expireAt, meta: flags | fresh)
            }
        }
        targetDB.modified(target)
        client.reply.integer(1)
    }

    /// MOVE key db: moves the record (value, expiry, metadata) unless the key exists there.
    static func move(_ client: Client, _ args: CommandArguments) {
        let sourceDB = client.db
        guard let targetDB = databaseArgument(client, args, 2) else { return }
        guard sourceDB !== targetDB else { return client.error(sameObject) }
        let key = args.bytes(1)
        // The two lookups are in different databases, so `slot` stays valid across them.
        let slot = sourceDB.lookupWrite(key)
        let cold = slot == nil ? sourceDB.coldEntry(key) : nil
        guard slot != nil || cold != nil else { return client.reply.integer(0) }
        guard !targetDB.existsForWrite(key) else { return client.reply.integer(0) }
        if let cold {
            sourceDB.moveCold(key, cold, to: targetDB, key, keepSource: false, access: cold.meta)
        } else if !sourceDB.moveThroughWriter(slot!, key, to: targetDB, key, keepSource: false, access: slot!.pointee.meta) {
            targetDB.add(key, moving: sourceDB.take(slot!))
        }
        sourceDB.modified(key)
        targetDB.modified(key, countsAsDirty: false)  // one change per move, as Redis counts
        client.reply.integer(1)
    }

    // MARK: - RANDOMKEY, DBSIZE

    /// RANDOMKEY: a key that has expired is collected and another one drawn, as a master
    /// does in Redis.
    static func randomKey(_ client: Client, _ args: CommandArguments) {
        let db = client.db
        let now = client.server.store.nowMillis
        // The admission step chose the cold tier and listed keys at a random position.
        if let listing = client.coldListing, listing.storageID == db.storageID,
           let entry = listing.entries.first(where: { isLiveColdEntry($0, in: db, now: now) }) {
            return client.reply.bulk(entry.key)
        }
        while let slot = db.keys.randomSlot() {
            let expireAt = slot.pointee.expireAt
            if expireAt != 0 && expireAt <= now {
                let key = slot.pointee.key
                _ = key.withUnsafeBytes { db.find($0) }  // collects it
                continue
            }
            return client.reply.bulk(slot.pointee.key)
        }
        client.reply.null()
    }

    /// DBSIZE counts keys that expired but were not collected yet, as Redis does.
    static func dbsize(_ client: Client, _ args: CommandArguments) {
        client.reply.integer(client.db.count)
    }

    // MARK: - FLUSHDB, FLUSHALL, SWAPDB

    /// The ASYNC/SYNC argument of FLUSHDB and FLUSHALL: true for async, nil after an error
    /// reply. Without an argument the flush is synchronous (lazyfree-lazy-user-flush no).
    static func flushMode(_ client: Client, _ args: CommandArguments) -> Bool? {
        if args.count == 1 { return false }
        if args.count == 2 && args.matches(1, "sync") { return false }
        if args.count == 2 && args.matches(1, "async") { return true }
        client.error(ErrorReplies.syntax)
        return nil
    }

    static func flushdb(_ client: Client, _ args: CommandArguments) {
        guard let async = flushMode(client, args) else { return }
        client.db.removeAll(async: async)
        client.reply.ok()
    }

    static func flushall(_ client: Client, _ args: CommandArguments) {
        guard let async = flushMode(client, args) else { return }
        let store = client.server.store
        store.flushAll(async: async)
        store.dirty += 1  // Redis counts the flush itself on top of the removed keys
        client.reply.ok()
    }

    static func swapdb(_ client: Client, _ args: CommandArguments) {
        guard let first = int32Argument(client, args, 1, message: "ERR invalid first DB index"),
              let second = int32Argument(client, args, 2, message: "ERR invalid second DB index") else { return }
        let store = client.server.store
        let count = store.databases.count
        guard first >= 0 && first < count && second >= 0 && second < count else {
            return client.error(ErrorReplies.dbIndexOutOfRange)
        }
        store.swapDatabases(first, second)
        client.server.blocking.databasesSwapped(first, second)
        store.dirty += 1
        client.reply.ok()
    }
}
