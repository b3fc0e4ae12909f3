package cli

import "github.com/hull-sec/hull/internal/report"

// Message is what hull prints for err: its text, with the Go type names
// that library errors carry worded plainly (report.Plain), so that no
// message shows Go syntax.
func Message(err error) string { return report.Plain(err.Error()) }
