// Command nearcast is the nearcast server binary.
//
//	nearcast serve   run the signaling server
//	nearcast token   sign a join token for a server started with --token-secret
//	nearcast demo    serve the demo page, sample stream and signaling server
//	nearcast loadtest load a WebTorrent tracker with simulated viewers
//
// Every flag can also be set with an environment variable: NEARCAST_ and the
// flag name in upper case with dashes as underscores (--read-limit is
// NEARCAST_READ_LIMIT). A flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "run the signaling server", runServe},
	{"token", "sign a join token", runToken},
	{"demo", "serve the demo page, sample stream and signaling server", runDemo},
	{"loadtest", "load a WebTorrent tracker with simulated viewers", runLoadtest},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nearcast:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return flag.ErrHelp
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: nearcast <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'nearcast <command> --help' for its flags.")
}
