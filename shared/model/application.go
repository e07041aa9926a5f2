package model

import "encoding/json"

// Application is a Spinnaker application: the unit that owns pipelines,
// clusters and load balancers.
type Application struct {
	Name           ApplicationName `json:"name"`
	Email          string          `json:"email,omitempty"`
	Description    string          `json:"description,omitempty"`
	CloudProviders any             `json:"cloudProviders,omitempty"`
	Permissions    map[string]any  `json:"permissions,omitempty"`
	TrafficGuards  []TrafficGuard  `json:"trafficGuards,omitempty"`
	Notifications  map[string]any  `json:"notifications,omitempty"`
	CreateTs       string          `json:"createTs,omitempty"`
	UpdateTs       string          `json:"updateTs,omitempty"`
	User           string          `json:"user,omitempty"`
	Extra          Extra           `json:"-"`
}

// TrafficGuard protects the clusters it matches from losing their last
// enabled server group.
type TrafficGuard struct {
	Account  AccountName `json:"account,omitempty"`
	Location string      `json:"location,omitempty"`
	Stack    string      `json:"stack,omitempty"`
	Detail   string      `json:"detail,omitempty"`
	Enabled  *bool       `json:"enabled,omitempty"`
	Extra    Extra       `json:"-"`
}

type trafficGuardJSON TrafficGuard

// UnmarshalJSON keeps fields gennaker does not know.
func (g *TrafficGuard) UnmarshalJSON(b []byte) error {
	var v trafficGuardJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*g = TrafficGuard(v)
	g.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (g TrafficGuard) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(trafficGuardJSON(g), g.Extra)
}

type applicationJSON Application

// UnmarshalJSON keeps fields gennaker does not know.
func (a *Application) UnmarshalJSON(b []byte) error {
	var v applicationJSON
	extra, err := decodeWithExtra(b, &v)
	if err != nil {
		return err
	}
	*a = Application(v)
	a.Extra = extra
	return nil
}

// MarshalJSON writes back the fields gennaker does not know.
func (a Application) MarshalJSON() ([]byte, error) {
	return encodeWithExtra(applicationJSON(a), a.Extra)
}

var _ json.Marshaler = Application{}
