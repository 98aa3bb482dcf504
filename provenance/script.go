package provenance

import (
	"fmt"

	"fim/diff"
)

// How the script verdict composes with the others: a verdict the package databases
// explain (match, listed, removed, database) stays, whoever wrote the file: the content is what
// the package shipped, or the package log accounts for it. A tampered verdict stays too: the package database it is drawn
// from changed with no transaction in the package log, and a process's name and
// environment are no better evidence than that database. Every other event (mismatch,
// conffile, unowned, unknown, missing, or no verdict) becomes script when its writers
// all descend from a package manager: in fim watch, by the lineage read with the event;
// in a check, by the journal's last record of the path, when the path's current state
// is the state that record saw. The lineage is what the processes said of themselves
// (comm, environment), which any process of the same user can fake; and the package it
// names is not checked against the package log's transactions (a maintainer script
// runs while dpkg.log says the package is being configured, not after).

// scripts gives the script verdict to the events whose writers descend from a package
// manager (the lineage of a watch's event, else the journal's record).
func (a *Annotator) scripts(events []diff.Event) {
	for i := range events {
		ev := &events[i]
		if ev.Verdict.Explained() || ev.Verdict == diff.VerdictTampered {
			continue
		}
		if ev.Process != nil {
			if by := lineageExplains(ev); by != "" {
				ev.Verdict, ev.Reason = diff.VerdictScript, "written by "+by
			}
			continue
		}
		r := a.journal[ev.Path]
		if r == nil || !sameJournalState(r.State, journalStateOf(ev.After)) {
			continue
		}
		if by := r.explains(); by != "" {
			ev.Verdict, ev.Reason = diff.VerdictScript, fmt.Sprintf("written by %s (journal, %s)", by, r.Time.Format("2006-01-02 15:04:05"))
		}
	}
}

// lineageExplains returns who explains a watched event ("" for none): the lineage of
// its last writer, when every writer descends from a package manager.
func lineageExplains(ev *diff.Event) string {
	for _, p := range ev.Writers {
		if !p.Lineage.Explains() {
			return ""
		}
	}
	if !ev.Process.Lineage.Explains() {
		return ""
	}
	return ev.Process.Lineage.String()
}

// readJournalOnce reads the journal named by Options.Journal, the first time.
func (a *Annotator) readJournalOnce() {
	if a.journalRead || a.o.Journal == "" {
		return
	}
	a.journalRead = true
	recs, err := readJournal(a.o.Journal, a.o.Since)
	if err != nil {
		a.warn(err)
	}
	a.journal = recs
}
