package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nearcast/nearcast/signaling"
)

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "Print a join token for a server started with --token-secret.", stderr)
	var (
		cfg     serveConfig
		ttl     time.Duration
		swarms  string
		subject string
	)
	fs.StringVar(&cfg.tokenSecret, "token-secret", "", "the server's join token secret")
	fs.StringVar(&cfg.tokenSecretFile, "token-secret-file", "", "read the secret from this file")
	fs.DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	fs.StringVar(&swarms, "swarms", "", "comma-separated info_hashes (hex) the token allows (empty: any)")
	fs.StringVar(&subject, "subject", "", "free text recorded in the token, such as a user ID")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	secret, err := cfg.secret()
	if err != nil {
		return err
	}
	if secret == nil {
		return errors.New("--token-secret or --token-secret-file is required")
	}
	if ttl <= 0 {
		return errors.New("--ttl must be positive")
	}
	tok, err := signaling.SignToken(secret, signaling.TokenClaims{
		Expires: time.Now().Add(ttl).Unix(),
		Swarms:  splitList(swarms),
		Subject: subject,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
