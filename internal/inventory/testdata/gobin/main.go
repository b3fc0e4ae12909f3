// Command gobin is a Go binary for the inventory tests: its build info
// names hull's module and the dependencies it links.
package main

import (
	"fmt"

	"golang.org/x/sync/errgroup"
)

func main() {
	var g errgroup.Group
	g.Go(func() error { fmt.Println("gobin"); return nil })
	_ = g.Wait()
}
