package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// productsCmd manages hosted checkout catalogues through the service's
// product methods (the Merchant Portal calls the same ones).
type productsCmd struct {
	Add        productsAddCmd        `cmd:"" help:"Add a product to an account's catalogue."`
	List       productsListCmd       `cmd:"" help:"List an account's catalogue."`
	Update     productsUpdateCmd     `cmd:"" help:"Change a product's name, price, image or active flag."`
	Deactivate productsDeactivateCmd `cmd:"" help:"Take a product out of new checkouts."`
}

func (productsCmd) Help() string {
	return `A hosted checkout line may name a product of the account's catalogue by its
codename (letters, digits and underscores); the catalogue gives its name,
price (minor units of the account's currency) and image. Each environment
(sandbox, live) has its own catalogue.

Examples:
  cartgateway products add --account 7769 --codename product1 --name "Blue mug" --price 1250
  cartgateway products list --account 7769
  cartgateway products update --account 7769 --codename product1 --price 1400
  cartgateway products deactivate --account 7769 --codename product1`
}

// productTarget names a catalogue: an account and an environment.
type productTarget struct {
	Account     string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Environment string `name:"environment" default:"sandbox" enum:"sandbox,live" help:"Catalogue of this environment: sandbox or live."`
}

type productsAddCmd struct {
	storeFlags    `embed:""`
	productTarget `embed:""`
	Codename      string `name:"codename" required:"" help:"Codename: letters, digits and underscores (no hyphens)."`
	Name          string `name:"name" required:"" help:"Name shown to customers."`
	Price         int64  `name:"price" required:"" placeholder:"CENTS" help:"Price in minor units (cents) of the account's currency."`
	ImageURL      string `name:"image-url" placeholder:"URL" help:"Absolute https URL of the product's image."`
}

func (productsAddCmd) Help() string {
	return `The product is active at once: checkouts may name it by its codename.

Examples:
  cartgateway products add --account 7769 --codename product1 --name "Blue mug" --price 1250
  cartgateway products add --account 7769 --environment live --codename gift_wrap --name "Gift wrap" --price 300 --image-url https://shop.example/wrap.png`
}

func (c *productsAddCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		p, err := s.AddProduct(e.ctx, c.Account, gateway.Environment(c.Environment),
			service.ProductInput{Codename: c.Codename, Name: c.Name, Price: c.Price, ImageURL: &c.ImageURL})
		if err != nil {
			return productError(err, c.Account)
		}
		fmt.Fprintf(e.stdout, "added product %s to the %s catalogue of account %s\n", p.Codename, p.Environment, p.AccountID)
		return nil
	})
}

type productsListCmd struct {
	storeFlags    `embed:""`
	productTarget `embed:""`
}

func (productsListCmd) Help() string {
	return `Lists every product, active or not, by codename; prices in minor units.

Examples:
  cartgateway products list --account 7769
  cartgateway products list --account 7769 --environment live`
}

func (c *productsListCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		list, err := s.Products(e.ctx, c.Account, gateway.Environment(c.Environment))
		if err != nil {
			return productError(err, c.Account)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODENAME\tNAME\tPRICE\tSTATE\tIMAGE")
		for _, p := range list {
			state := "active"
			if !p.Active {
				state = "inactive"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", p.Codename, p.Name, p.Price, state, p.ImageURL)
		}
		return tw.Flush()
	})
}

type productsUpdateCmd struct {
	storeFlags    `embed:""`
	productTarget `embed:""`
	Codename      string  `name:"codename" required:"" help:"Codename of the product to change."`
	Name          string  `name:"name" help:"New name."`
	Price         int64   `name:"price" placeholder:"CENTS" help:"New price in minor units."`
	ImageURL      *string `name:"image-url" placeholder:"URL" help:"New image URL (absolute https); an empty value removes the image."`
	Active        *bool   `name:"active" negatable:"" help:"Make the product active (--active) or inactive (--no-active)."`
}

func (productsUpdateCmd) Help() string {
	return `Only the flags given change. Checkouts created before keep the name and price
they were created with.

Examples:
  cartgateway products update --account 7769 --codename product1 --price 1400
  cartgateway products update --account 7769 --codename product1 --image-url ""
  cartgateway products update --account 7769 --codename product1 --active`
}

func (c *productsUpdateCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if c.Price < 0 {
			return fmt.Errorf("--price must be a positive number of minor units")
		}
		p, err := s.UpdateProduct(e.ctx, c.Account, gateway.Environment(c.Environment),
			service.ProductInput{Codename: c.Codename, Name: c.Name, Price: c.Price, ImageURL: c.ImageURL, Active: c.Active})
		if err != nil {
			return productError(err, c.Account)
		}
		fmt.Fprintf(e.stdout, "updated product %s: %q, price %d, active %t\n", p.Codename, p.Name, p.Price, p.Active)
		return nil
	})
}

type productsDeactivateCmd struct {
	storeFlags    `embed:""`
	productTarget `embed:""`
	Codename      string `name:"codename" required:"" help:"Codename of the product."`
}

func (productsDeactivateCmd) Help() string {
	return `A checkout that names an inactive product is refused (unknown-product); those
created before keep it. "products update --active" makes it active again.

Example:
  cartgateway products deactivate --account 7769 --codename product1`
}

func (c *productsDeactivateCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		p, err := s.DeactivateProduct(e.ctx, c.Account, gateway.Environment(c.Environment), c.Codename)
		if err != nil {
			return productError(err, c.Account)
		}
		fmt.Fprintf(e.stdout, "deactivated product %s; checkouts created before keep it\n", p.Codename)
		return nil
	})
}

// productError names the account that a products command did not find.
func productError(err error, account string) error {
	if errors.Is(err, gateway.ErrNotFound) {
		return fmt.Errorf("there is no account %s (see cartgateway accounts list)", account)
	}
	return err
}
