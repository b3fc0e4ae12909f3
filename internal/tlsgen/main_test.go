package tlsgen_test

import (
	"os"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
)

// The tests start real components: none may outlive them.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
