//go:build !linux

package testenv

import (
	"testing"
	"time"
)

func unmountUnder(t testing.TB, dir string) {}

func stopProcessesUsing(t testing.TB, dir string, grace time.Duration) {}

func leftovers(needle string, grace time.Duration) []string { return nil }

func becomeSubreaper() error { return nil }

func reapOrphans() {}
