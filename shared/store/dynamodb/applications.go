package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// applicationsPK is the partition every application item lives in, so that
// listing them in name order is one Query.
const applicationsPK = "app"

type applications struct{ s *Store }

var _ store.Applications = applications{}

func (a applications) Get(ctx context.Context, name model.ApplicationName) (*model.Application, error) {
	if name == "" {
		return nil, fmt.Errorf("get application: empty name: %w", store.ErrNotFound)
	}
	out, err := a.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &a.s.tables.Config,
		Key:            key(applicationsPK, string(name)),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get application %s: %w", name, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get application %s: %w", name, store.ErrNotFound)
	}
	app, err := decodeApplication(out.Item)
	if err != nil {
		return nil, fmt.Errorf("get application %s: %w", name, err)
	}
	return app, nil
}

func (a applications) List(ctx context.Context) ([]model.Application, error) {
	apps := []model.Application{}
	err := a.s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &a.s.tables.Config,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": attrS(applicationsPK)},
		ConsistentRead:            ptr(true),
	}, func(it item) (bool, error) {
		app, err := decodeApplication(it)
		if err != nil {
			return false, err
		}
		apps = append(apps, *app)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return apps, nil
}

func (a applications) Put(ctx context.Context, app *model.Application) error {
	if app.Name == "" {
		return fmt.Errorf("put application: the application has no name")
	}
	doc, err := json.Marshal(app)
	if err != nil {
		return fmt.Errorf("put application %s: %w", app.Name, err)
	}
	it := key(applicationsPK, string(app.Name))
	it[attrDoc] = attrS(string(doc))
	if err := checkSize("application "+string(app.Name), it); err != nil {
		return fmt.Errorf("put application %s: %w", app.Name, err)
	}
	if _, err := a.s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &a.s.tables.Config, Item: it}); err != nil {
		return fmt.Errorf("put application %s: %w", app.Name, writeError(err))
	}
	return nil
}

func (a applications) Delete(ctx context.Context, name model.ApplicationName) error {
	if name == "" {
		return nil
	}
	_, err := a.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &a.s.tables.Config,
		Key:       key(applicationsPK, string(name)),
	})
	if err != nil {
		return fmt.Errorf("delete application %s: %w", name, err)
	}
	return nil
}

func decodeApplication(it item) (*model.Application, error) {
	var app model.Application
	if err := json.Unmarshal([]byte(stringAttr(it, attrDoc)), &app); err != nil {
		return nil, fmt.Errorf("decode application %s: %w", stringAttr(it, attrSK), err)
	}
	return &app, nil
}
