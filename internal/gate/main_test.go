package gate

import (
	"os"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
