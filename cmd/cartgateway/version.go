package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// The release build (scripts/release.sh) stamps these with -ldflags -X;
// otherwise Go's build info gives the module version and, when the binary
// was built from a git checkout with -buildvcs, the commit and its time.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what the binary knows of its making.
type buildInfo struct {
	Version, Commit, Date, Go string
	Modified                  bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok || commit != "" {
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version // "(devel)" when built from a work tree without a tag
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// versionText is what "cartgateway version" and --version print.
func versionText() string {
	b := readBuildInfo()
	commit, date := b.Commit, b.Date
	if commit == "" {
		commit = "unknown (built without version control information)"
	} else if b.Modified {
		commit += " (with uncommitted changes)"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("cartgateway %s\ncommit: %s\ndate:   %s (the commit's time)\ngo:     %s", b.Version, commit, date, b.Go)
}

type versionCmd struct{}

func (versionCmd) Help() string {
	return "The version is the release's (or the Go module's), the commit and its date come from the\nversion control information Go stamps into the binary.\n\nExample:\n  cartgateway version"
}

func (versionCmd) Run(e *env) error {
	_, err := fmt.Fprintln(e.stdout, versionText())
	return err
}
