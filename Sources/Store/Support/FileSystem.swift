import Glibc

/// The few file operations RocksDB's directory, the log and the index snapshot share.
enum FileSystem {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create directory \(prefix): \(String(cString: strerror(errno)))")
            }
            prefix += "/"
        }
    }

    /// The whole content of the file at `path`.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        return try [UInt8](unsafeUninitializedCapacity: size) { out, count in
            var done = 0
            while done < size {
                let n = read(fd, out.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                done += n
            }
            count = done
        }
    }
}
