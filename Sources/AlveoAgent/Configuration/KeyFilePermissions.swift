import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who may read a TLS private key file the configuration names (`outputs.hl7.tls.key_file`,
/// `outputs.syslog.tls.key_file`, `inputs.hl7.tls.key_file`), checked as OpenSSH checks its private
/// keys: whoever can read the key can pose as this bed to the central station or to the laboratory.
/// A key file is used only when it is a regular file owned by the agent's user or by root, nobody
/// but its owner may write it, and other users may not read it; its group may read it only when the
/// owner is root and the group is one of the agent's (Debian's `root:ssl-cert 0640` with the agent in
/// `ssl-cert`). `alveo check-config` and `alveo run` refuse any other (docs/security.md).
package enum KeyFilePermissions {
    /// Why the file at `path` may not be used as a private key (a sentence about the file), or nil.
    /// `user` and `groups`: the agent's (this process's effective user and its groups).
    package static func problem(_ path: String, user: uid_t = geteuid(), groups: Set<gid_t> = agentGroups()) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot be read (\(String(cString: strerror(errno))))" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
        let mode = info.st_mode & 0o7777
        let shown = "mode 0\(String(mode, radix: 8)), owner uid \(info.st_uid), group gid \(info.st_gid)"
        let fix = "chmod 600 (owned by the agent's user), or chmod 640 with owner root and a group of the agent's"
        if mode & 0o007 != 0 {
            return "is open to every user of this machine (\(shown)): a private key must be readable by the agent only: \(fix)"
        }
        if mode & 0o020 != 0 {
            return "is writable by its group (\(shown)): \(fix)"
        }
        guard info.st_uid == user || info.st_uid == 0 else {
            return "is owned by another user than the agent's or root (\(shown)): that user could replace the key: chown it to the agent's user or root"
        }
        if mode & 0o040 != 0, !(info.st_uid == 0 && groups.contains(info.st_gid)) {
            return "is readable by its group (\(shown)), allowed only when the owner is root and the group is one of the agent's: \(fix)"
        }
        return nil
    }

    /// This process's effective group and supplementary groups.
    package static func agentGroups() -> Set<gid_t> {
        var groups: Set<gid_t> = [getegid()]
        let count = getgroups(0, nil)
        if count > 0 {
            var list = [gid_t](repeating: 0, count: Int(count))
            let got = getgroups(count, &list)
            if got > 0 { groups.formUnion(list.prefix(Int(got))) }
        }
        return groups
    }
}
