package forensics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stdin is the path that means standard input.
const Stdin = "-"

// Input is one file (or stdin) to read.
type Input struct {
	Path string // file path, or Stdin
	Size int64  // bytes on disk (compressed size for .gz); 0 for stdin
}

// Expansion is what Expand found.
type Expansion struct {
	Inputs []Input
	// PrunedDirs are Firehose hour/day/month/year folders skipped because they end before
	// since (minus PruneSlack).
	PrunedDirs int
	// Errors are entries that could not be followed (a dangling symbolic link): reported, and
	// the rest is still read.
	Errors []error
	// Skipped are entries of folders that are neither files nor folders (FIFOs, devices,
	// sockets), "<path>: <what it is>": reading one would block or never end, so a walk does not
	// open them, and says so. (A path given by name is read whatever it is.)
	Skipped []string
}

// PruneSlack is how far before --since a Firehose folder must end to be skipped: Firehose names
// folders by arrival time and buffers records up to 15 minutes, and a message's events all
// carry its mail time, which is never after their arrival.
const PruneSlack = time.Hour

// Expand turns paths into inputs: files as given, folders walked in lexical order (which for
// the Firehose `YYYY/MM/DD/HH` layout is chronological), skipping hidden entries. With since
// set, folders of that layout that end more than PruneSlack before it are not read. "-" may
// appear once and means stdin.
func Expand(paths []string, since time.Time) (Expansion, error) {
	var exp Expansion
	stdin := false
	for _, p := range paths {
		if p == Stdin {
			if stdin {
				return exp, errors.New(`"-" (stdin) given more than once`)
			}
			stdin = true
			exp.Inputs = append(exp.Inputs, Input{Path: Stdin})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return exp, fmt.Errorf("input %s: %w", p, err)
		}
		if !st.IsDir() {
			exp.Inputs = append(exp.Inputs, Input{Path: p, Size: st.Size()})
			continue
		}
		if err := expandDir(&exp, p, since, map[string]bool{}); err != nil {
			return exp, err
		}
	}
	return exp, nil
}

// expandDir walks dir in lexical order, appending its files to exp. Symbolic links to files and
// folders are followed (an archive assembled from links must not read as empty, which would print
// an empty report and exit 0); visited holds the real paths of the folders walked, so a link
// cycle ends.
func expandDir(exp *Expansion, dir string, since time.Time, visited map[string]bool) error {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if visited[real] {
			return nil
		}
		visited[real] = true
	}
	// A trailing separator makes WalkDir descend into dir even when dir is itself a link.
	root := strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator)
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		if path == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		isDir, typ := d.IsDir(), d.Type()
		if typ&fs.ModeSymlink != 0 {
			st, err := os.Stat(path)
			if err != nil {
				exp.Errors = append(exp.Errors, fmt.Errorf("follow link %s: %w", path, err))
				return nil
			}
			isDir, typ = st.IsDir(), st.Mode().Type()
		}
		if isDir {
			if !since.IsZero() {
				if end, ok := firehosePeriodEnd(path); ok && !end.Add(PruneSlack).After(since) {
					exp.PrunedDirs++
					if d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
			}
			if !d.IsDir() { // a linked folder: walk it on its own
				return expandDir(exp, path, since, visited)
			}
			return nil
		}
		if kind := SkippedKind(typ); kind != "" {
			exp.Skipped = append(exp.Skipped, path+": "+kind)
			return nil
		}
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		exp.Inputs = append(exp.Inputs, Input{Path: path, Size: info.Size()})
		return nil
	})
}

// firehosePeriodEnd recognises a folder path ending in YYYY, YYYY/MM, YYYY/MM/DD or
// YYYY/MM/DD/HH (UTC) and returns the end of that period.
func firehosePeriodEnd(path string) (time.Time, bool) {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	// Find the longest suffix that parses as year[/month[/day[/hour]]].
	for n := min(4, len(parts)); n >= 1; n-- {
		seg := parts[len(parts)-n:]
		if t, end, ok := parsePeriod(seg); ok {
			_ = t
			return end, true
		}
	}
	return time.Time{}, false
}

func parsePeriod(seg []string) (start, end time.Time, ok bool) {
	widths := []int{4, 2, 2, 2}
	vals := make([]int, len(seg))
	for i, s := range seg {
		if len(s) != widths[i] {
			return start, end, false
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			return start, end, false
		}
		vals[i] = v
	}
	y, mo, d, h := vals[0], 1, 1, 0
	if y < 2000 || y > 2200 {
		return start, end, false
	}
	if len(vals) > 1 {
		if mo = vals[1]; mo < 1 || mo > 12 {
			return start, end, false
		}
	}
	if len(vals) > 2 {
		if d = vals[2]; d < 1 || d > 31 {
			return start, end, false
		}
	}
	if len(vals) > 3 {
		if h = vals[3]; h > 23 {
			return start, end, false
		}
	}
	start = time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
	switch len(vals) {
	case 1:
		end = start.AddDate(1, 0, 0)
	case 2:
		end = start.AddDate(0, 1, 0)
	case 3:
		end = start.AddDate(0, 0, 1)
	default:
		end = start.Add(time.Hour)
	}
	return start, end, true
}
