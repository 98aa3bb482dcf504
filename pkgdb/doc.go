// Package pkgdb reads the package databases a Linux host or image carries, under a
// root directory ("/", a host mounted at /host, an unpacked image), and says per path
// which package owns it and whether the file is what the package shipped.
//
// It owns three formats: dpkg (var/lib/dpkg: status with its Conffiles, info/PKG.list
// and .md5sums, diversions, and var/log/dpkg.log with its rotations), rpm (the rpm
// database) and apk (lib/apk/db/installed). Open reads them whole, once; a DB is not
// changed afterwards and may be used from several goroutines.
//
// Contracts:
//   - Everything is read relative to the root, as if it were the system's root: an
//     absolute symlink or ".." inside an image resolves inside the image, never out
//     of it. A name is opened without blocking and read only if it is a regular
//     file, under a size limit (a FIFO, a device or a huge file is refused, not read).
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
//     where the package shipped a file.
//   - The database is evidence, not proof: it lives on the host it describes, and
//     whoever can write a file can often write its package's digest too.
//
// Requires Linux 5.6 or later (openat2).
package pkgdb
