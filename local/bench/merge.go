package main

import (
	"strings"
)

// stepOf says which step writes a row, from the start of its "what".
func stepOf(what string) string {
	switch {
	case strings.HasPrefix(what, "cold start,"), strings.HasPrefix(what, "first invoke,"), what == "cold start":
		return "cold"
	case strings.HasPrefix(what, "binary size"):
		return "size"
	case strings.HasPrefix(what, "local stack"):
		return "stack"
	default:
		return "go"
	}
}

// parseReport reads the rows of a report render wrote, with their notes ("as above"
// notes take the note they refer to).
func parseReport(report string) []row {
	var rows []row
	lines := strings.Split(report, "\n")
	for _, line := range lines {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| what |") || strings.HasPrefix(line, "| --- |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 6 || strings.Contains(line, "| before | after |") {
			continue
		}
		rows = append(rows, row{What: cells[0], Value: cells[1], Baseline: cells[2], Ratio: cells[3], Target: cells[4], Met: cells[5] == "yes"})
	}
	last := ""
	for _, line := range lines {
		for i := range rows {
			note, ok := strings.CutPrefix(line, "- "+rows[i].What+": ")
			if !ok {
				continue
			}
			if note == "as above." {
				note = last
			}
			rows[i].Note, last = note, note
		}
	}
	return rows
}

// merge returns old's rows with those of the steps that ran replaced by fresh, in
// place; a fresh row without an old one follows the last row of its step.
func merge(old, fresh []row, ran []string) []row {
	has := func(step string) bool {
		for _, s := range ran {
			if s == step {
				return true
			}
		}
		return false
	}
	var out []row
	placed := map[string]bool{}
	for _, o := range old {
		step := stepOf(o.What)
		if !has(step) {
			out = append(out, o)
			continue
		}
		if placed[step] {
			continue
		}
		placed[step] = true
		for _, f := range fresh {
			if stepOf(f.What) == step {
				out = append(out, f)
			}
		}
	}
	for _, f := range fresh {
		if !placed[stepOf(f.What)] {
			out = append(out, f)
		}
	}
	return out
}
