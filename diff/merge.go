package diff

import "fim/tree"

// Join feeds d the merge (tree.Merge) of the recorded entries old with the current
// entries cur, both in key order: the one comparison of a recorded state with a current
// one that check, diff and watch run. A path of old alone is removed, of cur alone
// created, of both compared; what old holds below a directory cur could not read
// (tree.FlagUnreadable) is unknown, not removed. old is read ahead of cur by at most
// a run of entries up to its next directory (see tree.Merge), never below a directory
// cur has not come to; the first error of either ends the join and is returned.
func Join(d *Differ, old, cur tree.Seq) error {
	// shadow is a directory unreadable now: what old holds below it is unknown.
	shadow := ""
	for p, err := range tree.Merge(old, cur) {
		if err != nil {
			return err
		}
		switch {
		case p.B == nil:
			if shadow != "" && tree.IsWithin(p.A.Path, shadow) && p.A.Path != shadow {
				continue
			}
			d.Removed(p.A)
			continue
		case p.A == nil:
			d.Created(p.B)
		default:
			d.Both(p.A, p.B)
		}
		if p.B.Type == tree.TypeDir && p.B.Flags&tree.FlagUnreadable != 0 {
			shadow = p.B.Path
		}
	}
	return nil
}
