package canary

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/store"
)

// Record keys. A config's current version and each saved version are
// records of their own, so no record grows with the history, and a
// listing is one ordered prefix scan on either store backend.
const (
	configPrefix  = "canary/config/"
	historyPrefix = "canary/config-history/"
	resultPrefix  = "canary/result/"
)

// ConfigVersion is one saved version of a canary config.
type ConfigVersion struct {
	Version   int            `json:"version"`
	Timestamp int64          `json:"timestamp"`
	User      string         `json:"user,omitempty"`
	Config    map[string]any `json:"canaryConfig"`
}

// ConfigSummary is a config as Kayenta lists them.
type ConfigSummary struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	UpdatedTimestamp    int64    `json:"updatedTimestamp"`
	UpdatedTimestampIso string   `json:"updatedTimestampIso"`
	Applications        []string `json:"applications"`
}

// Configs keeps canary configs with every saved version, in the store's
// records. Saves of one config are serialized by a lease, so two writers
// cannot both claim a version number.
type Configs struct {
	records store.Records
	leases  store.Leases
	now     func() time.Time
}

// NewConfigs returns the canary configs kept in s.
func NewConfigs(s store.Store) *Configs {
	return &Configs{records: s.Records(), leases: s.Leases(), now: time.Now}
}

// head is the record of a config's current version.
type head struct {
	Version int `json:"version"`
	ConfigVersion
}

// Get returns the current version of a config, or an error wrapping
// store.ErrNotFound.
func (c *Configs) Get(ctx context.Context, id string) (*Config, error) {
	h, err := c.head(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg, probs := configFromDoc(h.Config)
	if len(probs) > 0 {
		return nil, fmt.Errorf("canary config %s is stored but no longer reads: %s", id, probs[0])
	}
	return cfg, nil
}

// GetByName returns the config with this name, or an error wrapping
// store.ErrNotFound.
func (c *Configs) GetByName(ctx context.Context, name string) (*Config, error) {
	all, err := c.List(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if s.Name == name {
			return c.Get(ctx, s.ID)
		}
	}
	return nil, fmt.Errorf("canary config named %q: %w", name, store.ErrNotFound)
}

func (c *Configs) head(ctx context.Context, id string) (*head, error) {
	if !validID(id) {
		return nil, fmt.Errorf("canary config %q: %w", id, store.ErrNotFound)
	}
	b, ok, err := c.records.Get(ctx, configPrefix+id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("canary config %s: %w", id, store.ErrNotFound)
	}
	var h head
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("canary config %s: %w", id, err)
	}
	return &h, nil
}

// List returns every config, or those of an application, by name.
func (c *Configs) List(ctx context.Context, application string) ([]ConfigSummary, error) {
	out := []ConfigSummary{}
	err := c.records.Scan(ctx, configPrefix, func(key string, value []byte) error {
		var h head
		if err := json.Unmarshal(value, &h); err != nil {
			return fmt.Errorf("canary config %s: %w", strings.TrimPrefix(key, configPrefix), err)
		}
		cfg, probs := configFromDoc(h.Config)
		if len(probs) > 0 {
			return nil
		}
		if application != "" && !containsFold(cfg.Applications, application) {
			return nil
		}
		out = append(out, ConfigSummary{
			ID: cfg.ID, Name: cfg.Name, UpdatedTimestamp: cfg.UpdatedTimestamp,
			UpdatedTimestampIso: time.UnixMilli(cfg.UpdatedTimestamp).UTC().Format(time.RFC3339Nano),
			Applications:        cfg.Applications,
		})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// ErrNameTaken is a save under a name another config holds.
var ErrNameTaken = errors.New("name taken")

// Save stores cfg as a new version: a new config when cfg.ID is empty
// (an id is allocated), otherwise a new version of an existing one (an
// error wrapping store.ErrNotFound when there is none). It sets the id and
// updatedTimestamp in the stored document and returns the version number.
func (c *Configs) Save(ctx context.Context, cfg *Config, user string) (int, error) {
	create := cfg.ID == ""
	if create {
		cfg.ID = newID()
	}
	if !validID(cfg.ID) {
		return 0, fmt.Errorf("canary config id %q: %w", cfg.ID, store.ErrNotFound)
	}
	owner := newID()
	lease := "canary-config/" + cfg.ID
	if err := c.leases.Acquire(ctx, lease, owner, time.Minute); err != nil {
		return 0, fmt.Errorf("canary config %s is being saved by someone else; try again: %w", cfg.ID, err)
	}
	defer c.leases.Release(context.WithoutCancel(ctx), lease, owner) //nolint:errcheck // the lease expires

	version := 1
	if !create {
		h, err := c.head(ctx, cfg.ID)
		if err != nil {
			return 0, err
		}
		version = h.Version + 1
	}
	others, err := c.List(ctx, "")
	if err != nil {
		return 0, err
	}
	for _, o := range others {
		if o.Name == cfg.Name && o.ID != cfg.ID {
			return 0, fmt.Errorf("canary config %q already exists (id %s); save it under another name or update that one: %w", cfg.Name, o.ID, ErrNameTaken)
		}
	}

	now := c.now()
	cfg.UpdatedTimestamp = now.UnixMilli()
	doc := map[string]any{}
	for k, v := range cfg.Doc {
		doc[k] = v
	}
	doc["id"] = cfg.ID
	doc["updatedTimestamp"] = cfg.UpdatedTimestamp
	doc["updatedTimestampIso"] = now.UTC().Format(time.RFC3339Nano)
	cfg.Doc = doc
	v := ConfigVersion{Version: version, Timestamp: cfg.UpdatedTimestamp, User: user, Config: doc}
	vb, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	hb, err := json.Marshal(head{Version: version, ConfigVersion: v})
	if err != nil {
		return 0, err
	}
	// The version first, then the head: a failure between them leaves the
	// current version as it was, and the orphan version is removed.
	vkey := fmt.Sprintf("%s%s/%010d", historyPrefix, cfg.ID, version)
	if err := c.records.Put(ctx, vkey, vb); err != nil {
		return 0, err
	}
	if err := c.records.Put(ctx, configPrefix+cfg.ID, hb); err != nil {
		_ = c.records.Delete(context.WithoutCancel(ctx), vkey)
		return 0, err
	}
	return version, nil
}

// Delete removes a config and its history; a missing one is not an error.
func (c *Configs) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	if err := c.records.Delete(ctx, configPrefix+id); err != nil {
		return err
	}
	var keys []string
	if err := c.records.Scan(ctx, historyPrefix+id+"/", func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := c.records.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// History returns every saved version, newest first, or an error wrapping
// store.ErrNotFound.
func (c *Configs) History(ctx context.Context, id string) ([]ConfigVersion, error) {
	if _, err := c.head(ctx, id); err != nil {
		return nil, err
	}
	var out []ConfigVersion
	err := c.records.Scan(ctx, historyPrefix+id+"/", func(_ string, b []byte) error {
		var v ConfigVersion
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, err
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// validID keeps ids to what can be a record key segment: letters, digits,
// '-', '_' and '.'.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
