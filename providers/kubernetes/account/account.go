// Package account reads a Kubernetes account's fields. It links nothing of
// client-go, so that functions which do not serve Kubernetes accounts can
// still refuse a bad one exactly as the provider does.
package account

import (
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/providers"
)

// Config is a Kubernetes account's own fields in the accounts file:
//
//	accounts:
//	- name: staging
//	  provider: kubernetes
//	  kubeconfig: ~/.kube/config   # default: $KUBECONFIG, then ~/.kube/config
//	  context: staging-cluster     # default: the kubeconfig's current context
//	  namespaces: [shop-staging]   # the namespaces the account may use; empty: all
//	  omitNamespaces: [kube-system] # namespaces it may never use
//	- name: prod
//	  provider: kubernetes
//	  eksCluster: shop-prod        # an EKS cluster instead of a kubeconfig
//	  region: eu-west-1
//	  assumeRole: arn:aws:iam::123456789012:role/deployer  # optional
//	  namespaces: [shop]
//
// Spinnaker's kubeconfigFile is read as kubeconfig.
type Config struct {
	Kubeconfig     string
	Context        string
	Namespaces     []string
	OmitNamespaces []string
	// EKSCluster, Region and AssumeRole reach an EKS cluster with an IAM
	// token, as the cloud runtime does.
	EKSCluster string
	Region     string
	AssumeRole string
}

// Parse reads an account's fields; the errors are the ones the provider
// gives for the account.
func Parse(acct providers.Account) (Config, error) {
	var c Config
	for k, v := range acct.Fields {
		switch k {
		case "kubeconfig", "kubeconfigFile", "context", "eksCluster", "region", "assumeRole":
			s, ok := v.(string)
			if !ok {
				return c, fmt.Errorf("%s must be a string", k)
			}
			switch k {
			case "context":
				c.Context = s
			case "eksCluster":
				c.EKSCluster = s
			case "region":
				c.Region = s
			case "assumeRole":
				c.AssumeRole = s
			default:
				c.Kubeconfig = s
			}
		case "namespaces", "omitNamespaces":
			list, ok := v.([]any)
			if !ok {
				return c, fmt.Errorf("%s must be a list of namespace names", k)
			}
			for _, item := range list {
				s, ok := item.(string)
				if !ok || s == "" {
					return c, fmt.Errorf("%s must be a list of namespace names", k)
				}
				if k == "namespaces" {
					c.Namespaces = append(c.Namespaces, s)
				} else {
					c.OmitNamespaces = append(c.OmitNamespaces, s)
				}
			}
		default:
			return c, fmt.Errorf("unknown field %q (kubernetes accounts take kubeconfig, context, namespaces, omitNamespaces, or eksCluster, region, assumeRole)", k)
		}
	}
	switch {
	case c.EKSCluster != "" && (c.Kubeconfig != "" || c.Context != ""):
		return c, errors.New("eksCluster and kubeconfig/context are alternatives: give one")
	case c.EKSCluster == "" && (c.Region != "" || c.AssumeRole != ""):
		return c, errors.New("region and assumeRole are for eksCluster accounts")
	case c.EKSCluster != "" && c.Region == "":
		return c, errors.New("an eksCluster account needs its region")
	}
	return c, nil
}
