// Command pairtime times two commands in alternation, so that a drift of
// the machine during the run (a busier neighbour, a warmer cache) falls on
// both alike, and prints each one's mean and the paired ratio A/B with
// its 95% confidence interval:
//
//	pairtime -runs 60 -a 'notation verify ...' -b 'hull verify ...'
//
// Commands are split on spaces (no shell); both must exit 0. hyperfine
// runs all of one command before the other, which is fine for large gaps
// and misleading for a few percent.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 40, "pairs to time")
	warmup := flag.Int("warmup", 3, "untimed pairs first")
	a := flag.String("a", "", "command A")
	b := flag.String("b", "", "command B")
	flag.Parse()
	if *a == "" || *b == "" || *runs < 2 {
		fmt.Fprintln(os.Stderr, "usage: pairtime -runs N -a 'CMD A' -b 'CMD B'")
		os.Exit(2)
	}
	cmdA, cmdB := strings.Fields(*a), strings.Fields(*b)
	for range *warmup {
		timeOne(cmdA)
		timeOne(cmdB)
	}
	var ta, tb, ratios []float64
	for i := range *runs {
		// Alternate which goes first, so neither always follows the other.
		var x, y float64
		if i%2 == 0 {
			x = timeOne(cmdA)
			y = timeOne(cmdB)
		} else {
			y = timeOne(cmdB)
			x = timeOne(cmdA)
		}
		ta, tb, ratios = append(ta, x), append(tb, y), append(ratios, x/y)
	}
	ma, sa := stats(ta)
	mb, sb := stats(tb)
	mr, sr := stats(ratios)
	half := 1.96 * sr / math.Sqrt(float64(len(ratios)))
	fmt.Printf("A: %.1f ms ± %.1f (median %.1f)\n", ma, sa, median(ta))
	fmt.Printf("B: %.1f ms ± %.1f (median %.1f)\n", mb, sb, median(tb))
	fmt.Printf("A/B: %.3f, 95%% CI %.3f-%.3f (%d pairs)\n", mr, mr-half, mr+half, len(ratios))
}

// timeOne runs a command and returns its wall time in milliseconds.
func timeOne(argv []string) float64 {
	cmd := exec.Command(argv[0], argv[1:]...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "pairtime: %s: %v\n%s", strings.Join(argv, " "), err, out)
		os.Exit(1)
	}
	return float64(time.Since(start).Microseconds()) / 1000
}

func stats(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
