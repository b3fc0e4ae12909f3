package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	it "github.com/hull-sec/hull/internal/imagetest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fromV1 wraps a ggcr image the way Open does.
func fromV1(t *testing.T, img v1.Image) *Image {
	t.Helper()
	im := &Image{Image: img, Ref: Ref{Kind: KindRegistry, Name: "test.invalid/x:1"}, limits: DefaultLimits}
	if err := im.load(); err != nil {
		t.Fatal(err)
	}
	return im
}

// merged lists "path type layer" for every file Walk shows.
func merged(t *testing.T, im *Image) []string {
	t.Helper()
	var out []string
	err := im.Walk(context.Background(), func(f *File) error {
		body, err := io.ReadAll(f.Content())
		if err != nil {
			return err
		}
		s := fmt.Sprintf("%s %c %d", f.Path, f.Header.Typeflag, f.LayerIndex)
		if len(body) > 0 {
			s += " " + string(body)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestWalkAppliesWhiteoutsAndOpaqueDirs(t *testing.T) {
	base := it.Layer(t,
		it.Dir("etc/", 0o755), it.File("etc/passwd", "root", 0o644), it.File("etc/gone", "x", 0o644),
		it.Dir("opt/", 0o755), it.Dir("opt/app/", 0o755), it.File("opt/app/old", "o", 0o644), it.Dir("opt/app/sub/", 0o755), it.File("opt/app/sub/deep", "d", 0o644),
		it.Dir("var/", 0o755), it.Dir("var/lib/", 0o755), it.File("var/lib/x", "x", 0o644),
		it.Dir("data/", 0o755), it.File("data/keep", "k", 0o644),
		it.File("./dotslash", "ds", 0o644),
	)
	upper := it.Layer(t,
		it.File("etc/.wh.gone", "", 0o644),
		it.File("etc/passwd", "root2", 0o644),
		it.Dir("opt/app/", 0o700), it.File("opt/app/.wh..wh..opq", "", 0o644), it.File("opt/app/new", "n", 0o644),
		it.Symlink("var/lib", "/elsewhere"),
		it.File("/data/abs", "a", 0o644),
	)
	top := it.Layer(t,
		it.File("etc/gone", "back", 0o644), // recreated after its whiteout
		it.File("data/.wh.keep", "", 0o644),
	)
	im := fromV1(t, it.Image(t, v1.Config{}, nil, base, upper, top))
	want := []string{
		"/data 5 0", "/data/abs 0 1 a", "/dotslash 0 0 ds",
		"/etc 5 0", "/etc/gone 0 2 back", "/etc/passwd 0 1 root2",
		"/opt 5 0", "/opt/app 5 1", "/opt/app/new 0 1 n",
		"/var 5 0", "/var/lib 2 1",
	}
	if got := merged(t, im); !slices.Equal(got, want) {
		t.Errorf("merged view\n got %q\nwant %q", got, want)
	}
}

func TestIndexIsAValidFS(t *testing.T) {
	l1 := it.Layer(t, it.Dir("etc/", 0o755), it.File("etc/os-release", "ID=test\n", 0o644), it.File("usr/bin/tool", "#!/bin/sh\n", 0o755))
	l2 := it.Layer(t, it.File("etc/.wh.os-release", "", 0o644), it.File("etc/hostname", "box\n", 0o644), it.Symlink("bin", "usr/bin"))
	im := fromV1(t, it.Image(t, v1.Config{}, nil, l1, l2))
	fsys, err := im.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "etc/hostname", "usr/bin/tool", "bin"); err != nil {
		t.Fatal(err)
	}
	if f := fsys.File("/etc/hostname"); f == nil || f.LayerIndex != 1 || f.Layer != im.DiffIDs[1] {
		t.Errorf("etc/hostname should come from layer 1, got %+v", f)
	}
	if fsys.File("/etc/os-release") != nil {
		t.Error("whited-out file is still in the index")
	}
	want := []string{".", "bin", "etc", "etc/hostname", "usr", "usr/bin", "usr/bin/tool"}
	var got []string
	if err := fs.WalkDir(fsys, ".", func(p string, _ fs.DirEntry, err error) error {
		got = append(got, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
}

func TestWalkStopsOnSkipAll(t *testing.T) {
	im := fromV1(t, it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("a", "1", 0o644), it.File("b", "2", 0o644))))
	n := 0
	err := im.Walk(context.Background(), func(*File) error { n++; return fs.SkipAll })
	if err != nil || n != 1 {
		t.Fatalf("walk returned %v after %d files, want nil after 1", err, n)
	}
}

func TestWalkRejectsHostileLayers(t *testing.T) {
	for name, entries := range map[string][]it.Entry{
		"dotdot":          {it.File("../../etc/passwd", "x", 0o644)},
		"hardlink-dotdot": {it.File("a", "x", 0o644), {Name: "b", Type: tar.TypeLink, Link: "../../../etc/shadow"}},
	} {
		t.Run(name, func(t *testing.T) {
			im := fromV1(t, it.Image(t, v1.Config{}, nil, it.Layer(t, entries...)))
			err := im.Walk(context.Background(), func(*File) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "climbs out") {
				t.Fatalf("want a clear rejection, got %v", err)
			}
		})
	}
}

// TestVisitAgreesWithWalk: the parallel visit keeps exactly the entries
// the sequential walk shows, with the values computed for them.
func TestVisitAgreesWithWalk(t *testing.T) {
	l0 := it.Layer(t, it.Dir("a/", 0o755), it.File("a/x", "0", 0o644), it.File("a/y", "0", 0o644), it.File("b", "0", 0o644), it.Dir("c/", 0o755), it.File("c/z", "0", 0o644))
	l1 := it.Layer(t, it.File("a/.wh.x", "", 0o644), it.File("b", "1", 0o644), it.File("c/.wh..wh..opq", "", 0o644), it.File("c/w", "1", 0o644))
	l2 := it.Layer(t, it.Symlink("a", "c"), it.File("d", "2", 0o644))
	im := fromV1(t, it.Image(t, v1.Config{}, nil, l0, l1, l2))
	want := merged(t, im)
	for _, parallel := range []int{1, 2, 3} {
		var got []string
		err := im.Visit(context.Background(), VisitOptions{Parallel: parallel}, func(f *File) (any, error) {
			body, err := io.ReadAll(f.Content())
			s := fmt.Sprintf("%s %c %d", f.Path, f.Header.Typeflag, f.LayerIndex)
			if len(body) > 0 {
				s += " " + string(body)
			}
			return s, err
		}, func(v Visible) error {
			got = append(got, v.Value.(string))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("parallel %d: visit kept %q, walk showed %q", parallel, got, want)
		}
	}
}
