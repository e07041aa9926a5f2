// Package account reads an AWS account's fields. It links none of the SDK's
// service clients, so that functions which do not serve AWS accounts can
// still refuse a bad one exactly as the provider does.
package account

import (
	"fmt"
	"regexp"

	"github.com/gennaker/gennaker/providers"
)

// Config is an AWS account's own fields in the accounts file.
type Config struct {
	// AccountID is the 12-digit account number. When set, the credentials
	// in use must belong to it.
	AccountID string
	// AssumeRole is the role assumed in the account, as an ARN, or as a
	// role name or "role/path/name" in AccountID (Spinnaker's form).
	AssumeRole string
	// ExternalID is passed to sts:AssumeRole when the role requires one.
	ExternalID string
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Parse reads an account's fields. The account's regions are its
// top-level `regions`.
func Parse(acct providers.Account) (Config, error) {
	var c Config
	for k, v := range acct.Fields {
		switch k {
		case "accountId", "assumeRole", "externalId":
			s, ok := v.(string)
			if !ok {
				return c, fmt.Errorf("%s must be a string (quote an account id: accountId: \"123456789012\")", k)
			}
			switch k {
			case "accountId":
				c.AccountID = s
			case "assumeRole":
				c.AssumeRole = s
			default:
				c.ExternalID = s
			}
		default:
			return c, fmt.Errorf("unknown field %q (aws accounts take accountId, regions, assumeRole, externalId, environment)", k)
		}
	}
	if c.AccountID != "" && !accountIDPattern.MatchString(c.AccountID) {
		return c, fmt.Errorf("accountId %q is not a 12-digit AWS account number", c.AccountID)
	}
	if len(acct.Regions) == 0 {
		return c, fmt.Errorf("an aws account needs its regions (regions: [us-east-1])")
	}
	return c, nil
}

// RoleARN is the ARN of the role assumed in the account, or "" for none.
// Spinnaker's "role/name" form is read in AccountID.
func (c Config) RoleARN() string {
	if c.AssumeRole == "" || len(c.AssumeRole) > 4 && c.AssumeRole[:4] == "arn:" {
		return c.AssumeRole
	}
	return "arn:aws:iam::" + c.AccountID + ":" + withRolePrefix(c.AssumeRole)
}

func withRolePrefix(name string) string {
	if len(name) > 5 && name[:5] == "role/" {
		return name
	}
	return "role/" + name
}

