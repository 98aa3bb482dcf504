// Package pkgdb reads the package databases a Linux host or image carries, under a
// root directory ("/", a host mounted at /host, an unpacked image), and says per path
// which package owns it and whether the file is what the package shipped.
//
// It owns three formats:
//   - dpkg: var/lib/dpkg/status (package, version, architecture, state, Conffiles with
//     their MD5), info/PKG[:ARCH].list and .md5sums, diversions, and var/log/dpkg.log
//     with its rotations (.1, .2.gz, ...) as a list of transactions;
//   - rpm: the sqlite back end (rpmdb.sqlite under usr/lib/sysimage/rpm or
//     var/lib/rpm, with its write-ahead log) and the Berkeley DB one (Packages, RHEL 8
//     and before), read with fim's own header parser: per file the digest and its
//     algorithm, mode, owner, group, size, mtime, link target and the config, ghost,
//     doc and missingok flags. The ndb back end (Packages.db, openSUSE) is found but
//     not read: a warning, and unknown verdicts;
//   - apk: lib/apk/db/installed (name, version, architecture, files with their SHA-1
//     and uid:gid:mode).
//
// Open reads them whole, once; a DB may be used from several goroutines. OpenIndexed
// reads dpkg's database in part: the paths of the packages whose info/PKG.list is, by
// its device, inode, size, mtime and ctime (FileID), as an earlier index recorded it
// (ListIndex: the package snapshot fim keeps beside a baseline) are taken from the
// index when a path is asked for, and every .list is read as Open does only when a
// path outside the index's roots is; its answers are Open's. Owners answers which packages own a path; Verdict also reads the
// file and compares it with what its package recorded:
//
//	db, err := pkgdb.Open(root) // warnings in db.Warnings()
//	v := db.Verdict("/usr/bin/ls", db.Opener("/usr/bin/ls"))
//	// v.Kind: match, mismatch, conffile, unowned, unknown or missing; v.File the record
//
// Contracts:
//   - Everything is read relative to the root, as if it were the system's root: an
//     absolute symlink or ".." inside an image resolves inside the image, never out
//     of it. A name is opened without blocking and read only if it is a regular
//     file, under a size limit (a FIFO, a device or a huge file is refused, not read).
//     The rpm database is opened read-only and nothing is written beside it.
//   - A database that cannot be read or parsed is never a crash and never a silent
//     "explained": Open returns it as a warning of one line naming the file and the
//     line (*Damage), and every verdict drawn from that manager is then unknown (a
//     path no other manager owns is unknown, not unowned). A damaged package log is
//     a warning of its own and leaves the database usable.
//   - A path is looked up as it is on disk: dpkg's diversions are applied (a diverted
//     path belongs to the diverting package's file, the file moved aside to the
//     package that shipped it), and on a merged /usr (the root's /bin, /sbin, /lib*
//     are symlinks to usr/...) a path is found under either name, as dpkg records
//     /sbin/e2fsck for what is reached as /usr/sbin/e2fsck.
//   - Verdict reads a file's content only when asked, and only when its package
//     recorded a digest, in the package's own algorithm (MD5 for dpkg, the recorded
//     one for rpm, SHA-1 for apk); nothing is cached. It does not follow a symlink
//     where the package shipped a file. Where rpm or apk record a mode and owner,
//     a file of the right content but another mode or owner is a mismatch.
//   - The database is evidence, not proof: it lives on the host it describes, and
//     whoever can write a file can often write its package's digest too. An rpm
//     header's signature over its immutable region is checked (Signature), the first
//     time a verdict is drawn from it, against the keys of the database's gpg-pubkey
//     headers (the region is digested as Open reads the header): one that does not
//     verify makes every verdict drawn from the header tampered. A header signed by a
//     key not imported, or in a form not checked (OpenPGP v3), is read as an unsigned
//     one. The keys live on the host too.
//
// Requires Linux 5.6 or later (openat2).
package pkgdb
