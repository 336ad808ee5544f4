package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// usersCmd manages Merchant Portal users through the service's user
// methods (the portal's admins call the same ones).
type usersCmd struct {
	Create usersCreateCmd `cmd:"" help:"Create a portal user of an account."`
	List   usersListCmd   `cmd:"" help:"List an account's portal users."`
	Reset  usersResetCmd  `cmd:"" help:"Give a user a new one-time password and turn their two-factor sign-in off."`
}

func (usersCmd) Help() string {
	return `Merchant Portal users sign in at /portal/ with their email and password. An
admin does everything; staff run payments and products (no keys, users or
settings). Admins invite more users in the portal.

Examples:
  cartgateway users create --account 7769 --email owner@shop.example --role admin
  cartgateway users list --account 7769
  cartgateway users reset --email owner@shop.example`
}

type usersCreateCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Email      string `name:"email" required:"" help:"The user's email: what they sign in with (one user per email)."`
	Role       string `name:"role" default:"staff" enum:"admin,staff" help:"admin (everything) or staff (payments and products)."`
	Password   string `name:"password" help:"The user's password (10 to 200 characters); default: a one-time password, printed once, to be changed at first sign-in."`
}

func (usersCreateCmd) Help() string {
	return `Prints the one-time password once (unless --password is given); the user
chooses their own at first sign-in.

Examples:
  cartgateway users create --account 7769 --email owner@shop.example --role admin
  cartgateway users create --account 7769 --email clerk@shop.example`
}

func (c *usersCreateCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		u, otp, err := s.CreateUser(e.ctx, service.NewUser{AccountID: c.Account, Email: c.Email, Role: gateway.Role(c.Role), Password: c.Password})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user_id: %s\naccount_id: %s\nemail: %s\nrole: %s\n", u.ID, u.AccountID, u.Email, u.Role)
		if otp != "" {
			fmt.Fprintf(e.stdout, "one_time_password: %s\n", otp)
		}
		return nil
	})
}

type usersListCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
}

func (usersListCmd) Help() string {
	return `Example:
  cartgateway users list --account 7769`
}

func (c *usersListCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		list, err := s.Users(e.ctx, c.Account)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER ID\tEMAIL\tROLE\tTWO-FACTOR\tCREATED")
		for _, u := range list {
			tfa := "off"
			if u.TwoFactor() {
				tfa = "on"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Role, tfa, u.CreatedAt.UTC().Format("2006-01-02"))
		}
		return tw.Flush()
	})
}

type usersResetCmd struct {
	storeFlags `embed:""`
	Email      string `name:"email" required:"" help:"The user's email."`
}

func (usersResetCmd) Help() string {
	return `For a user who lost their password or authenticator: prints a new one-time
password once, turns their two-factor sign-in off and ends their sessions.

Example:
  cartgateway users reset --email owner@shop.example`
}

func (c *usersResetCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		u, otp, err := s.ResetUser(e.ctx, c.Email)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "email: %s\none_time_password: %s\n", u.Email, otp)
		return nil
	})
}
