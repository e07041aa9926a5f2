// Package providers adapts clouds to the few abilities gennaker's
// deployment stages need: server groups, load balancers, images, manifests.
// Each ability is one interface; a provider serves the abilities it has, and
// a stage asks the registry for the one it needs.
//
// A provider registers under Spinnaker's name ("aws", "kubernetes", and our
// "local"); an account names one set of credentials of one provider. The
// deployment strategies, traffic guards and cluster locks in shared/stages
// are written once against the interfaces here, never once per cloud.
package providers

import (
	"context"
	"errors"
	"time"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// Errors implementations return, wrapped with the identity of the thing.
var (
	// ErrNotFound: the server group, load balancer or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnknownAccount: no account has that name.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrUnknownProvider: no provider is registered under that name.
	ErrUnknownProvider = errors.New("unknown cloud provider")
	// ErrUnsupported: the account's provider does not serve the ability
	// asked for (a Kubernetes account has no images to find).
	ErrUnsupported = errors.New("not supported")
)

// Cloud is one account's view of its provider: the abilities the provider
// serves for it. A provider fills in the abilities it has and leaves the
// others nil; the registry refuses to hand out a nil ability with an error
// that names the account and what it cannot do (ErrUnsupported).
type Cloud struct {
	// Account is the account this view acts in.
	Account Account
	// ServerGroups reads and changes existing server groups.
	ServerGroups ServerGroups
	// ServerGroupCreator starts new server groups (Spinnaker's deploy).
	ServerGroupCreator ServerGroupCreator
	LoadBalancers      LoadBalancers
	Images             Images
	// Manifests applies and reads Kubernetes manifests.
	Manifests manifest.Cluster
	// Managers lists the objects that manage server groups, such as
	// Kubernetes Deployments.
	Managers Managers
	// Functions manages serverless functions (AWS Lambda).
	Functions Functions
	// PollInterval is how long stages wait between reads of the account's
	// server groups while they wait on them; 0 leaves it to the stage (a
	// second, with quick looks at first). A cloud whose reads are rated
	// (AWS) sets it.
	PollInterval time.Duration
}

// ServerGroups reads and changes an account's server groups: versions of a
// cluster, each a set of identical instances.
type ServerGroups interface {
	// Get returns the server group with its instances' health, or an error
	// wrapping ErrNotFound.
	Get(ctx context.Context, region, name string) (*ServerGroup, error)
	// List returns the application's server groups in every region, oldest
	// first. An application with none returns an empty list.
	List(ctx context.Context, app string) ([]ServerGroup, error)
	// SetEnabled puts the server group into its load balancers' rotation
	// (true) or takes it out (false). Instances keep running either way.
	// Setting the state it already has does nothing; a missing server group
	// is an error wrapping ErrNotFound.
	SetEnabled(ctx context.Context, region, name string, enabled bool) error
	// Resize sets the capacity and starts or stops instances to reach its
	// desired count; it returns before they are up. Idempotent.
	Resize(ctx context.Context, region, name string, c Capacity) error
	// Destroy takes the server group out of rotation, stops its instances
	// and forgets it. Destroying a missing server group does nothing.
	Destroy(ctx context.Context, region, name string) error
}

// ServerGroupCreator starts new server groups.
type ServerGroupCreator interface {
	// Create starts a server group as spec says and returns it without
	// waiting for its instances. It is idempotent by name: when a server
	// group named spec.Name already exists in spec.Region it is returned as
	// it is, unchanged, so a retried deploy finds its own work done.
	Create(ctx context.Context, spec ServerGroupSpec) (*ServerGroup, error)
}

// Managers lists the objects that manage an account's server groups, as a
// Kubernetes Deployment manages its ReplicaSets. Spinnaker calls them server
// group managers: the read API lists them, and names each managed server
// group's manager.
type Managers interface {
	// Managers returns the application's server group managers in every
	// region the account may use, ordered by region and name. An
	// application with none returns an empty list.
	Managers(ctx context.Context, app string) ([]Manager, error)
}

// Manager is one server group manager as its provider sees it.
type Manager struct {
	// Kind is Spinnaker's kind, such as "deployment".
	Kind string
	// Name is the manager's own name, such as "web".
	Name        string
	Region      string
	Application string
	// Cluster is the cluster of the manager and of its server groups,
	// such as "deployment web".
	Cluster     string
	Stack       string
	Detail      string
	CreatedTime int64
	// ServerGroups are the server groups it manages, oldest first.
	ServerGroups []ManagedServerGroup
}

// ManagedServerGroup is a server group of a manager, with the sequence
// Spinnaker shows for it (a Deployment's ReplicaSet: its revision).
type ManagedServerGroup struct {
	Name     string
	Sequence int
}

// LoadBalancers manages an account's load balancers.
type LoadBalancers interface {
	// Upsert creates the load balancer or updates it to match spec, and
	// returns it. Idempotent.
	Upsert(ctx context.Context, spec LoadBalancerSpec) (*LoadBalancer, error)
	// Get returns the load balancer, or an error wrapping ErrNotFound.
	Get(ctx context.Context, region, name string) (*LoadBalancer, error)
	// List returns every load balancer of the account, ordered by name.
	List(ctx context.Context) ([]LoadBalancer, error)
	// Delete stops and forgets the load balancer; deleting a missing one does
	// nothing. Server groups that named it keep running.
	Delete(ctx context.Context, region, name string) error
}

// Images finds what server groups are deployed from.
type Images interface {
	// Find returns the images whose name matches query (a substring; empty
	// matches every image), newest first. None found is an empty list.
	Find(ctx context.Context, query string) ([]Image, error)
}

// ImageTags is what an account's Images may also do: find images of a
// region by name and tags, and tag them (AWS AMIs).
type ImageTags interface {
	// FindTagged returns region's images whose name starts with prefix and
	// that carry every tag of tags, newest first; none is an empty list.
	FindTagged(ctx context.Context, region, prefix string, tags map[string]string) ([]Image, error)
	// TagImages sets tags on the images of region named by id, keeping
	// their other tags. Idempotent; a missing image is an error wrapping
	// ErrNotFound.
	TagImages(ctx context.Context, region string, ids []string, tags map[string]string) error
}

// Capacity is how many instances a server group runs.
type Capacity struct {
	Min     int `json:"min"`
	Max     int `json:"max"`
	Desired int `json:"desired"`
}

// Health is an instance's state as the load balancer sees it, with
// Spinnaker's names.
type Health string

// Instance health states.
const (
	// HealthStarting: the instance runs but has not answered a health
	// check yet.
	HealthStarting Health = "Starting"
	// HealthUp: the last health check answered 2xx.
	HealthUp Health = "Up"
	// HealthDown: the instance answered a health check with an error, or did
	// not answer after it had been up, or exited.
	HealthDown Health = "Down"
	// HealthOutOfService: healthy but its server group is disabled, or it is
	// being drained before it stops.
	HealthOutOfService Health = "OutOfService"
)

// Instance is one member of a server group.
type Instance struct {
	ID         string `json:"name"`
	Health     Health `json:"healthState"`
	LaunchTime int64  `json:"launchTime"`
	// Address is where the instance serves, such as 127.0.0.1:41234.
	Address string `json:"address,omitempty"`
}

// InstanceCounts counts a server group's instances by health, as Gate
// reports them.
type InstanceCounts struct {
	Total        int `json:"total"`
	Up           int `json:"up"`
	Down         int `json:"down"`
	Starting     int `json:"starting"`
	OutOfService int `json:"outOfService"`
	Unknown      int `json:"unknown"`
}

// Provenance records who and what created a server group.
type Provenance struct {
	Application model.ApplicationName `json:"application,omitempty"`
	ExecutionID model.ExecutionID     `json:"executionId,omitempty"`
	PipelineID  model.PipelineID      `json:"pipelineConfigId,omitempty"`
	Pipeline    string                `json:"pipeline,omitempty"`
	StageID     model.StageID         `json:"stageId,omitempty"`
	Stage       string                `json:"stage,omitempty"`
	User        string                `json:"user,omitempty"`
}

// ServerGroupSpec is what a server group is created from.
type ServerGroupSpec struct {
	// Name is the full server group name, allocated before the call.
	Name   string `json:"name"`
	Region string `json:"region"`
	// Capacity is the initial capacity.
	Capacity Capacity `json:"capacity"`
	// Disabled creates the server group out of rotation.
	Disabled bool `json:"disabled,omitempty"`
	// Artifact is what the instances run: for the local provider a
	// local/command artifact ({type, command, args, env}).
	Artifact map[string]any `json:"artifact"`
	// LoadBalancers names the load balancers that route to the group.
	LoadBalancers []string `json:"loadBalancers,omitempty"`
	// HealthCheckPath is the HTTP path that answers 2xx when an instance is
	// up; empty means the instance is up as soon as it accepts connections.
	HealthCheckPath string     `json:"healthCheckPath,omitempty"`
	Provenance      Provenance `json:"provenance"`
	// Settings are the cluster's fields as the stage holds them, for a
	// provider that reads more than the fields above (aws: instanceType,
	// securityGroups, targetGroups, ...). A provider ignores what it does
	// not know; save-time checks (FieldChecker) say which those are.
	Settings map[string]any `json:"settings,omitempty"`
	// Source is the cluster's newest server group that served before the
	// deploy, or "": what a provider copies from when Settings ask it to
	// (copySourceCustomBlockDeviceMappings).
	Source string `json:"source,omitempty"`
}

// FieldChecker is what a Provider may also be: it names the fields of a
// cluster to deploy that it does not apply, so that saving a pipeline that
// sets them warns instead of ignoring them.
type FieldChecker interface {
	// UnappliedFields returns the keys of cluster the provider would not
	// apply, sorted; none is an empty list.
	UnappliedFields(cluster map[string]any) []string
}

// ErrThrottled is what a provider's error wraps when the cloud kept refusing
// calls for their rate after retries: the work is not failed, only to be
// tried again later.
var ErrThrottled = errors.New("throttled by the cloud provider")

// ServerGroup is a server group as it is now.
type ServerGroup struct {
	Name          string         `json:"name"`
	Cluster       string         `json:"cluster"`
	Application   string         `json:"application"`
	Account       string         `json:"account"`
	Region        string         `json:"region"`
	CloudProvider string         `json:"cloudProvider"`
	Disabled      bool           `json:"isDisabled"`
	Capacity      Capacity       `json:"capacity"`
	Instances     []Instance     `json:"instances"`
	Counts        InstanceCounts `json:"instanceCounts"`
	// CreatedTime is when the server group was created, in ms.
	CreatedTime     int64          `json:"createdTime"`
	Artifact        map[string]any `json:"artifact,omitempty"`
	LoadBalancers   []string       `json:"loadBalancers"`
	HealthCheckPath string         `json:"healthCheckPath,omitempty"`
	Provenance      Provenance     `json:"provenance"`
	// Settings are the provider's own deploy fields as the server group has
	// them (aws: instanceType, securityGroups, targetGroups, ...), with the
	// names a deploy stage uses: what a clone copies.
	Settings map[string]any `json:"settings,omitempty"`
}

// Up reports whether every one of the desired instances is up, and there is
// at least one desired.
func (g *ServerGroup) Up() bool {
	return g.Capacity.Desired > 0 && g.Counts.Up >= g.Capacity.Desired
}

// Serving reports whether the group is enabled with at least one instance
// up: whether it takes traffic.
func (g *ServerGroup) Serving() bool { return !g.Disabled && g.Counts.Up > 0 }

// LoadBalancerSpec is what a load balancer is created from.
type LoadBalancerSpec struct {
	Name        string `json:"name"`
	Region      string `json:"region"`
	Application string `json:"application,omitempty"`
	// ListenPort is the loopback port the local provider listens on; 0 picks
	// a free one (recorded, so it stays the same after a restart).
	ListenPort int `json:"listenPort,omitempty"`
	// Settings are the load balancer's fields as the stage holds them, for
	// a provider that reads more than the fields above (aws:
	// loadBalancerType, listeners, targetGroups, securityGroups, ...).
	Settings map[string]any `json:"settings,omitempty"`
}

// LoadBalancer is a load balancer as it is now.
type LoadBalancer struct {
	Name          string `json:"name"`
	Application   string `json:"application,omitempty"`
	Account       string `json:"account"`
	Region        string `json:"region"`
	CloudProvider string `json:"cloudProvider"`
	ListenPort    int    `json:"listenPort,omitempty"`
	// URL is where clients send traffic, such as http://127.0.0.1:8500.
	URL string `json:"url,omitempty"`
	// Type is the kind of load balancer where a cloud has several (aws:
	// application, network).
	Type string `json:"loadBalancerType,omitempty"`
	// DNSName is the name clients resolve to reach it, where it has one.
	DNSName string `json:"dnsname,omitempty"`
	// TargetGroups are its target groups (aws), by name.
	TargetGroups []string `json:"targetGroups,omitempty"`
	// ServerGroups names the server groups that named this load balancer.
	ServerGroups []LoadBalancerServerGroup `json:"serverGroups"`
}

// LoadBalancerServerGroup is a server group as its load balancer sees it.
type LoadBalancerServerGroup struct {
	Name       string     `json:"name"`
	IsDisabled bool       `json:"isDisabled"`
	Instances  []Instance `json:"instances"`
}

// Image is something a server group can be deployed from.
type Image struct {
	Name string `json:"imageName"`
	// ID is the image's own id where the cloud has one (an AMI's ami-…).
	ID       string            `json:"imageId,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	Region   string            `json:"region"`
	Artifact map[string]any    `json:"artifact,omitempty"`
	// CreatedTime is when the image was first seen, in ms.
	CreatedTime int64 `json:"createdTime"`
}
