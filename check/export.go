package check

import (
	"context"
	"fmt"
	"io"

	"fim/internal/atomicfile"
	"fim/mtree"
)

// Export writes what b recorded as an mtree specification (mtree.Write) to the file
// out, replaced atomically with mode 0600 and left as it was on an error, or, when out
// is "" or "-", to w: then every record is checked against the digest before the first
// line, as nothing written there can be taken back.
func Export(b *Baseline, w io.Writer, out string, o mtree.WriteOptions) error {
	if out == "" || out == "-" {
		if err := b.Validate(); err != nil {
			return err
		}
		return mtree.Write(w, b.Entries(context.Background()), o)
	}
	err := atomicfile.Write(out, 0o600, func(w io.Writer) error { return mtree.Write(w, b.Entries(context.Background()), o) })
	if err != nil {
		return fmt.Errorf("export not written, %s unchanged: %w", out, err)
	}
	return nil
}
