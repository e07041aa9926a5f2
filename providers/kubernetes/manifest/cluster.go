package manifest

import "context"

// PatchType is how a patch body is read, with Spinnaker's mergeStrategy
// names.
type PatchType string

// Patch types.
const (
	PatchStrategic PatchType = "strategic"
	PatchMerge     PatchType = "merge"
	PatchJSON      PatchType = "json"
)

// DeleteOptions say how an object is deleted.
type DeleteOptions struct {
	// Cascading deletes what the object owns (pods of a ReplicaSet) in the
	// background; false orphans them.
	Cascading bool
	// GracePeriodSeconds overrides the object's grace period when set.
	GracePeriodSeconds *int64
}

// Cluster is one Kubernetes account: a cluster reached through a kubeconfig
// context, limited to the namespaces the account may use. Every method that
// names a namespace the account may not use returns an error wrapping
// ErrForbiddenNamespace and changes nothing; a kind the server does not
// serve is an error wrapping ErrUnknownKind. Errors from the API server
// carry its own message.
type Cluster interface {
	// DefaultNamespace is where objects without a namespace go.
	DefaultNamespace() string
	// Apply creates or updates obj with server-side apply under gennaker's
	// field manager, taking ownership of conflicting fields, and returns the
	// object as stored. Applying the same object again changes nothing.
	Apply(ctx context.Context, obj Object) (Object, error)
	// Get returns the object as stored, or an error wrapping ErrNotFound.
	Get(ctx context.Context, ref Ref) (Object, error)
	// List returns the objects of kind in namespace whose labels match
	// selector (Kubernetes label selector syntax; empty matches all),
	// ordered by name. None is an empty list.
	List(ctx context.Context, kind, namespace, selector string) ([]Object, error)
	// Patch changes the object with a patch of the given type and returns
	// it, or an error wrapping ErrNotFound.
	Patch(ctx context.Context, ref Ref, typ PatchType, patch []byte) (Object, error)
	// Delete deletes the object. Deleting a missing object does nothing.
	Delete(ctx context.Context, ref Ref, opts DeleteOptions) error
	// Logs returns the logs of one container of a pod (every container's,
	// each headed by its name, when container is empty).
	Logs(ctx context.Context, namespace, pod, container string) (string, error)
}
