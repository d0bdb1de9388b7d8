package mes

import (
	"context"
	"fmt"
	"strings"
)

// ActorKind says what kind of actor issued a command.
type ActorKind string

// Actor kinds.
const (
	Person ActorKind = "person"
	Device ActorKind = "device"
	System ActorKind = "system" // an ERP, a scheduler, an integration
)

// Actor is who issues a command: a person the host has authenticated, a device or a
// system. The engine trusts the host's authentication and records the actor in the audit
// trail.
type Actor struct {
	ID    string    `json:"id"`
	Name  string    `json:"name,omitempty"`
	Kind  ActorKind `json:"kind"`
	Roles []string  `json:"roles,omitempty"`
}

// AuthRequest is what an Authorizer decides on.
type AuthRequest struct {
	Actor  Actor
	Action string // the command, e.g. "workorder.release"
	Site   string
}

// Authorizer decides whether an actor may perform an action. Hosts implement it (or use
// Roles); return an error wrapping ErrUnauthorized to refuse.
type Authorizer interface {
	Authorize(ctx context.Context, req AuthRequest) error
}

// Roles is a role-based Authorizer: it maps a role to the actions it grants. An action
// pattern ending in ".*" grants every action with that prefix ("workorder.*"); "*" grants
// everything. A role may be limited to sites by writing it as "role@SITE" in Actor.Roles.
type Roles map[string][]string

// Authorize implements Authorizer.
func (r Roles) Authorize(ctx context.Context, req AuthRequest) error {
	for _, role := range req.Actor.Roles {
		name, site, scoped := strings.Cut(role, "@")
		if scoped && site != req.Site {
			continue
		}
		for _, pattern := range r[name] {
			if pattern == "*" || pattern == req.Action ||
				(strings.HasSuffix(pattern, ".*") && strings.HasPrefix(req.Action, strings.TrimSuffix(pattern, "*"))) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s %q (roles %v) may not %s in site %q; grant a role with %q",
		ErrUnauthorized, req.Actor.Kind, req.Actor.ID, req.Actor.Roles, req.Action, req.Site, req.Action)
}

// allowAll is the Authorizer used when the host configures none.
type allowAll struct{}

func (allowAll) Authorize(context.Context, AuthRequest) error { return nil }
