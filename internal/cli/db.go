package cli

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/vulndb"

	"github.com/spf13/cobra"
)

// defaultDBPath is where hull keeps its vulnerability store:
// $XDG_CACHE_HOME/hull/osv.db (~/.cache/hull/osv.db).
func defaultDBPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "hull", "osv.db")
}

func newDBCmd() *cobra.Command {
	db := &cobra.Command{
		Use:   "db",
		Short: "Manage the local vulnerability database (OSV records)",
		Long: `hull scan matches packages against OSV records kept in a local database, so that
scans work offline. 'hull db update' builds it from OSV exports, the layout
osv.dev publishes (one <Ecosystem>/all.zip per ecosystem); 'hull db status' says
how old it is and what it holds.`,
	}
	var dbPath, from string
	var ecosystems []string
	var timeout time.Duration
	update := &cobra.Command{
		Use:   "update",
		Short: "Build the vulnerability database from OSV exports",
		Long: `Update reads OSV exports and replaces the database when the new one is complete
(a failed update leaves the old one in place). --from is an http(s) URL base
serving <Ecosystem>/all.zip (default osv.dev's bucket) or a directory holding
such zips, other .zip exports or loose OSV .json records (walked recursively;
the way to update a machine without internet: copy the zips over). Withdrawn
records are skipped.

Exit codes: 0 updated; 2 not updated (a source that cannot be reached or
stops sending for --timeout, a broken export), the old database kept.`,
		Example: `  hull db update
  hull db update --ecosystems Debian,npm,Go,PyPI
  hull db update --from /mnt/osv-mirror          # Debian/all.zip, npm/all.zip, ...
  hull db update --from https://osv-mirror.internal.example/osv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			progress := func(string) {}
			if isTerminal(cmd.ErrOrStderr()) {
				progress = func(m string) { fmt.Fprintln(cmd.ErrOrStderr(), m) }
			}
			start := time.Now()
			if timeout <= 0 {
				return undecided(fmt.Errorf("--timeout %s: must be positive", timeout))
			}
			client := &http.Client{Transport: image.DownloadTransport(http.DefaultTransport, timeout)}
			meta, err := vulndb.Update(cmd.Context(), dbPath, vulndb.UpdateOptions{From: from, Ecosystems: ecosystems, Client: client, Progress: progress})
			if errors.Is(err, vulndb.ErrUnreachable) {
				return undecided(fmt.Errorf("db update: %w; without internet access, copy the OSV exports (<Ecosystem>/all.zip) to a directory and run 'hull db update --from DIR'", err))
			}
			if err != nil {
				return undecided(fmt.Errorf("db update: %w", err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d records from %s in %s\n", dbPath, total(meta), meta.Source, time.Since(start).Round(time.Millisecond))
			return writeStatus(cmd, dbPath, meta)
		},
	}
	update.Flags().StringVar(&from, "from", "", "`URL` base, or directory, of OSV exports (default "+vulndb.DefaultURL+")")
	update.Flags().DurationVar(&timeout, "timeout", image.DefaultTimeout, "longest wait for a server to answer, or for a download's next bytes, as a `DURATION`")
	update.Flags().StringSliceVar(&ecosystems, "ecosystems", nil, "`LIST` of ecosystems to fetch from a URL (default "+strings.Join(vulndb.DefaultEcosystems, ",")+")")
	status := &cobra.Command{
		Use:   "status",
		Short: "Say how old the vulnerability database is and what it holds",
		Long: `Status says where the database is, when and from where it was last
updated, and how many records it holds per ecosystem.

Exit codes: 0 a database is there; 2 there is none, or it cannot be read or
was written by another hull version (hull scan exits 2 then too).`,
		Example: `  hull db status
  hull db status --db /srv/hull/osv.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Exit 2 when there is no database, as scan does: nothing can
			// be decided with it.
			d, err := vulndb.Open(dbPath)
			if err != nil {
				return undecided(err)
			}
			defer d.Close()
			return writeStatus(cmd, dbPath, d.Meta)
		},
	}
	for _, c := range []*cobra.Command{update, status} {
		c.Flags().StringVar(&dbPath, "db", defaultDBPath(), "database `FILE`")
	}
	db.AddCommand(update, status)
	return db
}

func total(m vulndb.Meta) int {
	n := 0
	for _, c := range m.Records {
		n += c
	}
	return n
}

func writeStatus(cmd *cobra.Command, path string, m vulndb.Meta) error {
	w := cmd.OutOrStdout()
	age := time.Since(m.Updated).Round(time.Minute)
	fmt.Fprintf(w, "database: %s\nupdated:  %s (%s ago)\nsource:   %s\nnewest record: %s\n", path,
		m.Updated.Format(time.RFC3339), age, m.Source, m.Newest.Format(time.RFC3339))
	fmt.Fprintf(w, "withdrawn records skipped: %d; package entries bounded by commits only (not comparable): %d\n\n", m.Withdrawn, m.GitOnly)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tRECORDS")
	for _, e := range slices.Sorted(maps.Keys(m.Records)) {
		fmt.Fprintf(tw, "%s\t%d\n", e, m.Records[e])
	}
	return tw.Flush()
}
