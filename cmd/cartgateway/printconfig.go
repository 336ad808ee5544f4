package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/alecthomas/kong"
)

// printConfig prints the effective value of every flag of the command
// being run, where it came from (flag, env or default), and whether the
// secret comes from the environment, with secrets redacted.
func printConfig(w io.Writer, kctx *kong.Context) error {
	explicit := map[string]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil {
			explicit[p.Flag.Name] = true
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENV\tVALUE\tFROM")
	for _, f := range kctx.Selected().Flags {
		if f.Name == "print-config" || f.Name == "help" {
			continue
		}
		env := ""
		if len(f.Envs) > 0 {
			env = f.Envs[0]
		}
		from := "default"
		switch {
		case explicit[f.Name]:
			from = "flag"
		case env != "" && isSet(env):
			from = "env"
		}
		value := fmt.Sprint(f.Target.Interface())
		if f.Name == "db" {
			value = redactURL(value)
		}
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(tw, "--%s\t%s\t%s\t%s\n", f.Name, orDash(env), value, from)
	}
	secret := "not set"
	if os.Getenv(envSecret) != "" {
		secret = "set (redacted)"
	}
	fmt.Fprintf(tw, "-\t%s\t%s\t%s\n", envSecret, secret, "env")
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func isSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
