// Command parity compares Dockle's JSON report with hull's for the same
// image: for every Dockle alert it looks for a hull finding of the
// matching check that names the same file, user, variable or history
// step, and prints each alert with the hull finding that covers it.
//
//	go run ./bench/parity DOCKLE.json HULL.json IMAGE
//
// An alert about a file that the image's merged filesystem does not hold
// (Dockle ignores whiteouts and opaque directories) is a Dockle false
// positive, checked by opening IMAGE. It exits 1 if any other alert has
// no counterpart; Dockle's host-environment check is listed apart.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/image"
)

// equivalents maps a Dockle code to the hull checks that cover it.
var equivalents = map[string][]string{
	"CIS-DI-0001": {"root-user"},
	"CIS-DI-0006": {"no-healthcheck"},
	"CIS-DI-0007": {"update-alone"},
	"CIS-DI-0008": {"setuid-setgid"},
	"CIS-DI-0009": {"add-instead-of-copy", "remote-add"},
	"CIS-DI-0010": {"credential-file", "private-key", "suspicious-file", "secret-env", "secret-history", "secret-label"},
	"DKL-DI-0001": {"sudo-in-history"},
	"DKL-DI-0002": {"sensitive-volume"},
	"DKL-DI-0003": {"dist-upgrade"},
	"DKL-DI-0004": {"apk-no-cache"},
	"DKL-DI-0005": {"apt-lists-left"},
	"DKL-DI-0006": {"latest-tag"},
	"DKL-LI-0001": {"empty-password"},
	"DKL-LI-0002": {"duplicate-id"},
	"DKL-LI-0003": {"unnecessary-file"},
}

// hostOnly are Dockle checks of the machine Dockle runs on, not the image.
var hostOnly = map[string]string{"CIS-DI-0005": "reads DOCKER_CONTENT_TRUST of the host running Dockle, not the image (hull audit's domain)"}

type dockleReport struct {
	Details []struct {
		Code   string   `json:"code"`
		Level  string   `json:"level"`
		Alerts []string `json:"alerts"`
	} `json:"details"`
}

type hullFinding struct {
	ID       string `json:"id"`
	Evidence string `json:"evidence"`
	Location struct {
		Path  string `json:"path"`
		Field string `json:"field"`
	} `json:"location"`
}

type hullReport struct {
	Findings []hullFinding `json:"findings"`
}

func load(path string, v any) {
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "parity: %s: %v\n", path, err)
		os.Exit(2)
	}
}

// covers reports whether f names what the alert names: a file path, or a
// word of its evidence (a user, an ID, a variable, a history step).
func covers(f hullFinding, alert string) bool {
	words := strings.FieldsFunc(alert, split)
	if p := strings.TrimPrefix(f.Location.Path, "/"); p != "" {
		if strings.Contains(alert, p) {
			return true
		}
		// An alert naming a file must name this one.
		if slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, "/") }) {
			return false
		}
	}
	for _, w := range strings.FieldsFunc(f.Evidence, split) {
		if len(w) >= 3 && slices.Contains(words, w) {
			return true
		}
	}
	return f.Location.Field == "config.User" || f.Location.Field == "config.Healthcheck"
}

func split(r rune) bool { return r == ' ' || r == '=' || r == ',' || r == ':' }

// hiddenFile returns the path an alert names if the merged filesystem
// does not hold it, or "".
func hiddenFile(fsys *image.FS, alert string) string {
	for _, w := range strings.Fields(alert) {
		if strings.Contains(w, "/") && !strings.Contains(w, "://") && fsys.File("/"+w) == nil {
			if _, err := fsys.Stat(strings.TrimSuffix(w, "/")); err != nil {
				return w
			}
		}
	}
	return ""
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: parity DOCKLE.json HULL.json IMAGE")
		os.Exit(2)
	}
	var d dockleReport
	var h hullReport
	load(os.Args[1], &d)
	load(os.Args[2], &h)
	ctx := context.Background()
	im, err := image.Open(ctx, os.Args[3], image.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(2)
	}
	defer im.Close()
	fsys, err := im.Index(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(2)
	}
	missing := 0
	for _, det := range d.Details {
		if det.Level == "PASS" || det.Level == "SKIP" || det.Level == "IGNORE" {
			continue
		}
		if why, ok := hostOnly[det.Code]; ok {
			fmt.Printf("%-12s (not an image property: %s)\n", det.Code, why)
			continue
		}
		for _, alert := range det.Alerts {
			match := ""
			for _, f := range h.Findings {
				for _, id := range equivalents[det.Code] {
					if f.ID == id && covers(f, alert) && match == "" {
						match = f.ID + " " + f.Location.Path + f.Location.Field
					}
				}
			}
			if match == "" {
				if p := hiddenFile(fsys, alert); p != "" {
					match = "(Dockle false positive: " + p + " is not in the merged filesystem)"
				} else {
					missing++
					match = "NO HULL FINDING"
				}
			}
			fmt.Printf("%-12s %-70.70s -> %s\n", det.Code, alert, match)
		}
	}
	fmt.Printf("%d Dockle alerts without a hull finding; hull reported %d findings\n", missing, len(h.Findings))
	if missing > 0 {
		im.Close()
		os.Exit(1)
	}
}
