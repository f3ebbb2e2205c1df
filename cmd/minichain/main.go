// Command minichain is the minichain node and its command-line tools.
package main

import (
	"fmt"
	"os"
)

// version is the release this binary reports.
const version = "0.1.0-dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("minichain", version)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: minichain version")
	os.Exit(2)
}
