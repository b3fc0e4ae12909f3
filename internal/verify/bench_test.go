package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/verify"
)

// benchVerify measures Verify on a cosign-signed image in a real
// registry on loopback, by digest, as the launcher, the API gate and the
// containerd verifier call it. bench/verify.sh compares the CLI with
// cosign verify.
func benchVerify(b *testing.B, cache bool) {
	w := newWorld(b)
	trust := w.cosignPolicy(b)
	w.cosignSign(b, w.imageA, false)
	v, err := verify.New(trust, w.dir, image.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if cache {
		v.UseCache(&verify.Cache{TTL: time.Hour})
	}
	ref := w.reg + "/team/a@" + w.digestA.String()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		vd, err := v.Verify(ctx, ref)
		if err != nil || !vd.Accepted {
			b.Fatalf("%v %+v", err, vd)
		}
	}
}

func BenchmarkVerifyCold(b *testing.B) { benchVerify(b, false) }
func BenchmarkVerifyWarm(b *testing.B) { benchVerify(b, true) }
