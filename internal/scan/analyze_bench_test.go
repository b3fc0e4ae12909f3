package scan

import (
	"context"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/testenv"
)

// BenchmarkAnalyzeSecrets is `hull scan --scanners secret --no-cache` on
// the realistic image: every layer read, every wanted text file searched.
func BenchmarkAnalyzeSecrets(b *testing.B) {
	info := testenv.ScanImage(b)
	ctx := context.Background()
	im, err := image.Open(ctx, "docker-archive:"+info.Archive, image.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	for b.Loop() {
		if _, err := Analyze(ctx, im, AnalyzeOptions{Secrets: true}); err != nil {
			b.Fatal(err)
		}
	}
}
