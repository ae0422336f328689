package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// token manages admin API tokens:
//
//	wedsync-autoscaler token create --name alice --role operator
//	wedsync-autoscaler token list
//	wedsync-autoscaler token revoke --name alice
func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("token: create, list or revoke")}
	}
	var c common
	var name, role string
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	c.db.Register(fs)
	switch args[0] {
	case "create":
		fs.StringVar(&name, "name", "", "Who the token is for (letters, digits, . _ @ -; required).")
		fs.StringVar(&role, "role", "", "viewer, operator or admin (required).")
	case "revoke":
		fs.StringVar(&name, "name", "", "The token to revoke (required).")
	case "list":
	default:
		return usageError{fmt.Errorf("token: unknown subcommand %q (create, list or revoke)", args[0])}
	}
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if args[0] != "list" && name == "" {
		return usageError{errors.New("--name is required")}
	}
	if args[0] == "create" && role != store.RoleViewer && role != store.RoleOperator && role != store.RoleAdmin {
		return usageError{fmt.Errorf("--role: %q is not viewer, operator or admin", role)}
	}
	dsn, err := c.dsn()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		by := "cli"
		if u, err := user.Current(); err == nil {
			by = "cli:" + u.Username
		}
		t, secret, err := st.CreateToken(ctx, name, role, by)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		fmt.Fprintf(stderr, "token %q (%s) created; it is shown once, store it now:\n", t.Name, t.Role)
		fmt.Fprintln(stdout, secret)
	case "revoke":
		if err := st.RevokeToken(ctx, name); err != nil {
			return fmt.Errorf("token revoke: %w", err)
		}
		fmt.Fprintf(stdout, "token %q revoked\n", name)
	case "list":
		ts, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tBY\tLAST USED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), t.CreatedBy, when(t.LastUsedAt), when(t.RevokedAt))
		}
		tw.Flush()
	}
	return nil
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
