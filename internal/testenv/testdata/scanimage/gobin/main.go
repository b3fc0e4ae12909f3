// Command app is the Go program in testenv.ScanImage's image: a separate
// module that requires an old golang.org/x/text (v0.3.5, before the fixes
// for GO-2021-0113 and GO-2022-1059) and calls the vulnerable function, so
// its build info names the dependency and a scanner has something real to
// find.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	accept := "en-US,en;q=0.9"
	if len(os.Args) > 1 {
		accept = os.Args[1]
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, t := range tags {
		fmt.Println(t)
	}
}
