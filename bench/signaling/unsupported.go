//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "signaling bench: needs Linux (/proc, taskset)")
	os.Exit(2)
}
