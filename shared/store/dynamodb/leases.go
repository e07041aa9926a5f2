package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/store"
)

// Runtime table items of leases (see the package documentation).
const (
	leaseSK       = "lease"
	attrOwner     = "owner"
	attrExpiresAt = "expiresAt"
	// attrTTL is the Runtime table's time-to-live attribute.
	attrTTL = "ttl"
)

func leasePK(name string) string { return "lease#" + name }

type leases struct{ s *Store }

var _ store.Leases = leases{}

func (l leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) error {
	if name == "" || owner == "" {
		return fmt.Errorf("acquire lease %q for %q: a lease needs a name and an owner", name, owner)
	}
	now := l.s.now()
	expires := now.Add(ttl)
	it := key(leasePK(name), leaseSK)
	it[attrOwner] = attrS(owner)
	it[attrExpiresAt] = attrN(expires.UnixMilli())
	// DynamoDB deletes the item some time after this; Acquire never relies
	// on it, since it compares expiresAt itself.
	it[attrTTL] = attrN(expires.Add(time.Second - 1).Unix())
	_, err := l.s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &l.s.tables.Runtime,
		Item:                it,
		ConditionExpression: ptr("attribute_not_exists(#pk) OR #expiresAt < :now OR #owner = :owner"),
		ExpressionAttributeNames: map[string]string{
			"#pk":        attrPK,
			"#expiresAt": attrExpiresAt,
			"#owner":     attrOwner,
		},
		ExpressionAttributeValues: item{
			":now":   attrN(now.UnixMilli()),
			":owner": attrS(owner),
		},
	})
	if conditionFailed(err) {
		return fmt.Errorf("acquire lease %s for %s: held by another owner: %w", name, owner, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("acquire lease %s for %s: %w", name, owner, err)
	}
	return nil
}

func (l leases) Release(ctx context.Context, name, owner string) error {
	if name == "" {
		return nil
	}
	_, err := l.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &l.s.tables.Runtime,
		Key:                       key(leasePK(name), leaseSK),
		ConditionExpression:       ptr("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner},
		ExpressionAttributeValues: item{":owner": attrS(owner)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release lease %s for %s: %w", name, owner, err)
	}
	return nil
}
