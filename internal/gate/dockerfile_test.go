package gate

import (
	"slices"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// TestParseDockerfile: the images a classic build pulls, as its parser
// reads FROM and COPY --from, and the Dockerfiles it refuses to guess
// about.
func TestParseDockerfile(t *testing.T) {
	for _, c := range []struct {
		name, src string
		args      map[string]*string
		want      []string
		err       string
	}{
		{name: "plain", src: "FROM busybox:1\nRUN true\n", want: []string{"busybox:1"}},
		{name: "case and flags", src: "from --platform=linux/amd64 reg:5000/a/b@sha256:ab AS Build\nfrom build\n", want: []string{"reg:5000/a/b@sha256:ab"}},
		{name: "scratch", src: "FROM scratch\nCOPY x /\n", want: nil},
		{name: "stages", src: "FROM a:1 AS one\nFROM one AS two\nCOPY --from=one /x /x\nCOPY --from=0 /y /y\nCOPY --from=ONE /z /z\nCOPY --from=c:3 /w /w\nFROM two\n", want: []string{"a:1", "c:3"}},
		{name: "the stage itself is an image", src: "FROM a AS x\nCOPY --from=x / /\nCOPY --from=1 / /\n", err: "names no stage"},
		{name: "the stage itself by name", src: "FROM a AS x\nCOPY --from=x / /\n", want: []string{"a", "x"}},
		{name: "stage named later is an image", src: "FROM later\nFROM x AS later\n", want: []string{"later", "x"}},
		{name: "continuation and comments", src: "# a comment\nFROM \\\n  # inside\n\n  busybox:2 \\\n  AS b\n", want: []string{"busybox:2"}},
		{name: "continued lines keep their blanks", src: "FROM a AS stage\nCOPY --from=sta\\\n ge / /\nFROM b:1\\\n  AS c\n", want: []string{"a", "sta", "b:1"}},
		{name: "unread default unused", src: "ARG V=\"1\"\nFROM a:1\n", want: []string{"a:1"}},
		{name: "unread default used", src: "ARG V=\"1\"\nFROM a:$V\n", err: "whose default the gate does not read"},
		{name: "unread default overridden", src: "ARG V=\"1\"\nFROM a:$V\n", args: map[string]*string{"V": strp("2")}, want: []string{"a:2"}},
		{name: "two escapes end a line", src: "FROM a:1\nRUN echo \\\\\nFROM b:1\n", err: "two escape characters"},
		{name: "indented directive", src: " \t# escape=`\nFROM a:1 `\n  AS b\n", want: []string{"a:1"}},
		{name: "escape directive", src: "# escape=`\nFROM `\n  busybox:3\n", want: []string{"busybox:3"}},
		{name: "directive only at the top", src: "FROM a:1\n# escape=`\nFROM `\nb:1\n", err: "quotes or escapes"},
		{name: "crlf and bom", src: "\xef\xbb\xbfFROM a:1\r\nFROM b:2 \\\r\n AS c\r\n", want: []string{"a:1", "b:2"}},
		{name: "arg defaults", src: "ARG REG=r:5000\nARG TAG=1\nFROM ${REG}/app:$TAG\nFROM ${REG}/x:${NONE:-2}${TAG:+-s}\n", want: []string{"r:5000/app:1", "r:5000/x:2-s"}},
		{name: "build arg overrides", src: "ARG TAG=1\nFROM app:${TAG}\n", args: map[string]*string{"TAG": strp("9"), "OTHER": strp("x")}, want: []string{"app:9"}},
		{name: "build arg not declared", src: "FROM app:${TAG}\n", args: map[string]*string{"TAG": strp("9")}, err: "TAG has no value"},
		{name: "arg after from is not meta", src: "FROM a:1\nARG T=2\nFROM b:$T\n", err: "T has no value"},
		{name: "unset", src: "ARG X\nFROM ${X}\n", err: "X has no value"},
		{name: "unknown substitution", src: "ARG X=a\nFROM ${X%%a}\n", err: "cannot read as a variable"},
		{name: "quotes", src: "FROM \"busybox\"\n", err: "quotes or escapes"},
		{name: "empty", src: "ARG X=\nFROM ${X}\n", err: "names no image"},
		{name: "no from", src: "# nothing\n", err: "has no FROM"},
		{name: "copy before from", src: "COPY --from=a / /\nFROM b\n", err: "COPY before"},
		{name: "copy from variable", src: "FROM a\nCOPY --from=$X / /\n", err: "quotes, escapes or variables"},
		{name: "copy from twice", src: "FROM a\nCOPY --from=b --from=c / /\n", err: "twice"},
		{name: "copy index out of range", src: "FROM a\nCOPY --from=1 / /\n", err: "names no stage"},
		{name: "unknown from flag", src: "FROM --pull=always a\n", err: "does not know"},
		{name: "bad stage name", src: "FROM a AS 1x\n", err: "not a valid name"},
		{name: "two escape directives", src: "# escape=`\n# escape=\\\nFROM a\n", err: "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseDockerfile([]byte(c.src), c.args)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v (%v), want an error saying %q", refsOf(p), err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(refsOf(p), c.want) {
				t.Fatalf("got %q (%v), want %q", refsOf(p), err, c.want)
			}
		})
	}
}

// TestPinDockerfile: each image is replaced in its instruction, flags
// and stage names kept, the rest of the file as it was.
func TestPinDockerfile(t *testing.T) {
	src := "# escape=\\\nARG T=1\nFROM --platform=$P a:${T} \\\n  AS one\nRUN echo FROM x\nCOPY --chown=1 --from=c:3 \\\n /w /w\nFROM one\n"
	p, err := parseDockerfile([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(pinDockerfile([]byte(src), p, []string{"r/a@sha256:1", "r/c@sha256:2"}))
	want := "# escape=\\\nARG T=1\nFROM --platform=$P r/a@sha256:1 AS one\nRUN echo FROM x\nCOPY --chown=1 --from=r/c@sha256:2 /w /w\nFROM one\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// FuzzDockerfile: the parser reads untrusted Dockerfiles without
// panicking, and a pinned Dockerfile reads as naming exactly the pins.
func FuzzDockerfile(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\n", "ARG A=b\nFROM ${A:-c} AS x\nCOPY --from=x / /\nCOPY --from=y / /\n",
		"# escape=`\nFROM `\n a\n", "FROM a \\\n#c\n\n AS b\nFROM b\n", "\xef\xbb\xbfFROM $A\r\n",
	} {
		f.Add([]byte(s), "v")
	}
	f.Fuzz(func(t *testing.T, src []byte, arg string) {
		p, err := parseDockerfile(src, map[string]*string{"A": &arg})
		if err != nil {
			return
		}
		var pins []string
		for i := range p.images {
			pins = append(pins, "r/p"+strings.Repeat("x", i)+"@sha256:00")
		}
		pp, err := parseDockerfile(pinDockerfile(src, p, pins), map[string]*string{"A": &arg})
		if err != nil || !slices.Equal(refsOf(pp), pins) {
			t.Fatalf("pinned %q: got %q (%v), want %q", src, refsOf(pp), err, pins)
		}
	})
}
