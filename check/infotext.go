package check

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/report"
)

// Write writes in to w in format, one of report.EntryFormats: text (WriteText) or json,
// one object; pub is the key the signature was verified with (nil: none given).
func (in *Info) Write(w io.Writer, format string, pub ed25519.PublicKey) error {
	var err error
	switch format {
	case "text":
		err = in.WriteText(w, pub)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		err = enc.Encode(in)
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(report.EntryFormats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write info: %w", err)
	}
	return nil
}

// WriteText writes fim info's text format: one "key: value" line each, every string
// from the baseline escaped; pub is the key the signature was verified with (nil:
// none given).
func (in *Info) WriteText(w io.Writer, pub ed25519.PublicKey) error {
	pol := in.Policy
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-14s", key+":")
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("database", "%s", report.EscapeText(in.Path))
	line("file size", "%d bytes, %.1f bytes per entry", in.FileSize, in.BytesPerEntry)
	line("created", "%s", in.Created.UTC().Format(time.RFC3339))
	line("generation", "%d", in.Generation)
	host := report.EscapeText(in.Host)
	if in.HostID != "" {
		host += " (host id " + report.EscapeText(in.HostID) + ")"
	}
	line("host", "%s", host)
	line("fim version", "%s", report.EscapeText(in.FimVersion))
	line("format", "%d", in.Format)
	line("entries", "%d", in.Entries)
	line("copies", "%d, %d bytes compressed (content_diff)", in.Copies, in.CopyBytes)
	line("digest", "%s", report.EscapeText(in.Digest))
	line("key base", "%s", orNone(report.EscapeText(in.KeyBase)))
	keyID := report.EscapeText(in.KeyID) // from the meta: anything a forger wrote there
	switch {
	case !in.Signed:
		line("signature", "unsigned")
	case in.Verified == nil:
		line("signature", "signed by %s (not checked: give --verify PUBKEY)", keyID)
	case *in.Verified:
		line("signature", "signed by %s, verified with %s: every record intact", keyID, baseline.KeyID(pub))
	default:
		line("signature", "signed by %s, does NOT verify with %s: %s", keyID, baseline.KeyID(pub), report.EscapeText(in.VerifyError))
	}
	if in.Verified != nil && !in.Signed {
		line("verify", "FAILED: %s", report.EscapeText(in.VerifyError))
	}
	if pol.Source != "" {
		line("read from", "%s (check it with --root DIR, the tree it describes)", report.EscapeText(pol.Source))
	}
	line("root", "%s", orNone(report.EscapeText(pol.Root)))
	if pol.MaxEntries > 0 {
		line("max entries", "%d", pol.MaxEntries)
	} else {
		line("max entries", "unlimited")
	}
	line("cross mounts", "%s", yesNo(pol.CrossMounts))
	line("exclude", "%s", patterns(pol.Exclude))
	for _, r := range pol.Rules {
		line("path", "%s", describeRule(&r))
	}
	if len(in.Accepted) == 0 {
		line("accepted", "never")
	}
	for _, a := range in.Accepted {
		who := "uid " + fmt.Sprint(a.UID)
		if a.User != "" {
			who = report.EscapeText(a.User) + " (" + who + ")"
		}
		sel := make([]string, len(a.Selectors))
		for i, s := range a.Selectors {
			sel[i] = report.EscapeText(s)
		}
		line("accepted", "%s by %s: %d accepted, %d left (%s)", a.Time.UTC().Format(time.RFC3339), who,
			a.Accepted, a.Remaining, strings.Join(sel, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describeRule renders a rule's path and limits on one line.
func describeRule(r *config.Rule) string {
	depth := "unlimited"
	if r.MaxDepth > 0 {
		depth = fmt.Sprint(r.MaxDepth)
	}
	size := "unlimited"
	if r.MaxFileSize > 0 {
		size = config.FormatSize(r.MaxFileSize)
	}
	events := "all"
	if len(r.Events) > 0 {
		events = strings.Join(r.Events, ",")
	}
	return fmt.Sprintf("%s  max_depth: %s, max_file_size: %s, include_hidden: %s, follow_symlinks: %s, events: %s, ignore: %s, exclude: %s",
		report.EscapeText(r.Path), depth, size, yesNo(r.IncludeHidden), yesNo(r.FollowSymlinks), events,
		orNone(strings.Join(r.Ignore, ",")), patterns(r.Exclude))
}

func patterns(globs []string) string {
	if len(globs) == 0 {
		return "none"
	}
	q := make([]string, len(globs))
	for i, g := range globs {
		q[i] = "'" + report.EscapeText(g) + "'"
	}
	return strings.Join(q, " ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
