package providers

// Elsewhere is a provider known here by name only: its accounts exist (a
// pipeline naming them validates, a stage can be routed to the function
// that serves them), but this process serves none of their abilities. The
// Lambda functions use it for the providers whose tasks run in a function
// of their own, so that each function links only the providers it calls.
// check, if not nil, refuses an account as the provider itself would.
func Elsewhere(name, function string, check func(Account) error) Provider {
	return elsewhere{name: name, function: function, check: check}
}

type elsewhere struct {
	name, function string
	check          func(Account) error
}

func (e elsewhere) Name() string { return e.name }

func (e elsewhere) Cloud(acct Account) (*Cloud, error) {
	if e.check != nil {
		if err := e.check(acct); err != nil {
			return nil, err
		}
	}
	return &Cloud{Account: acct}, nil
}
