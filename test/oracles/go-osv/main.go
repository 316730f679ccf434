// Independent oracle for the scan tests: which Go advisories of an OSV export affect a module at a
// version. Reads the zip named by the first argument and "module version" lines on stdin; prints
// "module version ADVISORY-ID" for every match. Versions compare with golang.org/x/mod/semver and
// ranges follow the OSV evaluation rules (https://ossf.github.io/osv-schema/#evaluation).
package main

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
)

type event struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed"`
	LastAffected string `json:"last_affected"`
	Limit        string `json:"limit"`
}

type record struct {
	ID        string `json:"id"`
	Withdrawn string `json:"withdrawn"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string  `json:"type"`
			Events []event `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
}

var goRelease = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta)(\d+))?$`)

// canon turns a Go toolchain version (go1.21rc2) or a module version into canonical semver with "v".
func canon(v string) string {
	if m := goRelease.FindStringSubmatch(v); m != nil {
		minor, patch := m[2], m[3]
		if minor == "" {
			minor = "0"
		}
		if patch == "" {
			patch = "0"
		}
		s := "v" + m[1] + "." + minor + "." + patch
		if m[4] != "" {
			s += "-" + m[4] + "." + m[5]
		}
		return s
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v
}

func affected(v string, events []event) bool {
	type ev struct {
		kind, ver string
	}
	var evs []ev
	for _, e := range events {
		switch {
		case e.Introduced != "":
			if e.Introduced == "0" {
				evs = append(evs, ev{"introduced", ""})
			} else {
				evs = append(evs, ev{"introduced", canon(e.Introduced)})
			}
		case e.Fixed != "":
			evs = append(evs, ev{"fixed", canon(e.Fixed)})
		case e.LastAffected != "":
			evs = append(evs, ev{"last_affected", canon(e.LastAffected)})
		case e.Limit != "":
			evs = append(evs, ev{"limit", canon(e.Limit)})
		}
	}
	// "0" sorts before every version
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].ver == "" {
			return evs[j].ver != ""
		}
		if evs[j].ver == "" {
			return false
		}
		return semver.Compare(evs[i].ver, evs[j].ver) < 0
	})
	in := false
	for _, e := range evs {
		switch e.kind {
		case "introduced":
			if e.ver == "" || semver.Compare(v, e.ver) >= 0 {
				in = true
			}
		case "fixed":
			if semver.Compare(v, e.ver) >= 0 {
				in = false
			}
		case "last_affected":
			if semver.Compare(v, e.ver) > 0 {
				in = false
			}
		case "limit":
			if semver.Compare(v, e.ver) >= 0 {
				in = false
			}
		}
	}
	return in
}

func main() {
	zr, err := zip.OpenReader(os.Args[1])
	if err != nil {
		panic(err)
	}
	byName := map[string][]record{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			panic(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			panic(err)
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			panic(fmt.Sprintf("%s: %v", f.Name, err))
		}
		if r.Withdrawn != "" {
			continue
		}
		seen := map[string]bool{}
		for _, a := range r.Affected {
			if a.Package.Ecosystem == "Go" && !seen[a.Package.Name] {
				seen[a.Package.Name] = true
				byName[a.Package.Name] = append(byName[a.Package.Name], r)
			}
		}
	}
	sc := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		mod, ver := fields[0], fields[1]
		v := canon(ver)
		if !semver.IsValid(v) {
			fmt.Fprintf(out, "%s %s INVALID\n", mod, ver)
			continue
		}
		for _, r := range byName[mod] {
			hit := false
			for _, a := range r.Affected {
				if a.Package.Ecosystem != "Go" || a.Package.Name != mod {
					continue
				}
				for _, x := range a.Versions {
					if canon(x) == v {
						hit = true
					}
				}
				for _, rg := range a.Ranges {
					if rg.Type == "SEMVER" && affected(v, rg.Events) {
						hit = true
					}
				}
			}
			if hit {
				fmt.Fprintf(out, "%s %s %s\n", mod, ver, r.ID)
			}
		}
	}
}
